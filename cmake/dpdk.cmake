# SPDX-License-Identifier: Apache-2.0
# DPDK 22.11 (Debian 12) as INTERFACE targets, without libdpdk-dev or pkg-config:
#   netfence::dpdk               the headers (as system headers) and the runtime libraries
#   netfence::dpdk_experimental  the same with ALLOW_EXPERIMENTAL_API
# scripts/install-dpdk.sh (run by scripts/setup.sh) installs the runtime packages and unpacks
# the headers into NETFENCE_DPDK_HEADER_ROOT.
#
# Why not pkg-config: libdpdk.pc's Requires.private names mlx5/ibverbs/isal/jansson, which the
# selective install lacks. Why librte_X.so.23 by its full name: the .deb's librte_X.so
# symlinks dangle once unpacked elsewhere, `-lrte_X` then silently takes librte_X.a, and a
# static EAL never dlopen()s the PMD plugins (/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0): every
# --vdev fails with "failed to find driver". PMDs are not linked; the EAL loads them, except
# the one whose own API is called (rte_eth_from_rings in librte_net_ring).
include_guard(GLOBAL)

set(NETFENCE_DPDK_HEADER_ROOT "/opt/netfence/dpdk" CACHE PATH "Where scripts/install-dpdk.sh unpacked the DPDK headers")
# rte_memcpy.h (pulled in by rte_mbuf.h) needs SSSE3: without -march it fails with "inlining
# failed in call to 'always_inline' '_mm_alignr_epi8'". corei7 is what Debian's libdpdk.pc
# says; native would tie the binary to the build host's CPU.
set(NETFENCE_DPDK_MARCH "corei7" CACHE STRING "-march for code that includes DPDK headers")
set(NETFENCE_DPDK_ABI "23" CACHE STRING "DPDK ABI version (22.11 = 23)")

if(NOT CMAKE_LIBRARY_ARCHITECTURE)
  set(CMAKE_LIBRARY_ARCHITECTURE x86_64-linux-gnu)
endif()
set(_nf_dpdk_inc "${NETFENCE_DPDK_HEADER_ROOT}/usr/include/dpdk")
set(_nf_dpdk_inc_arch "${NETFENCE_DPDK_HEADER_ROOT}/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/dpdk")
if(NOT EXISTS "${_nf_dpdk_inc}/rte_eal.h" OR NOT EXISTS "${_nf_dpdk_inc_arch}/rte_build_config.h")
  message(FATAL_ERROR "no DPDK headers under ${NETFENCE_DPDK_HEADER_ROOT}: run scripts/setup.sh "
                      "(or scripts/install-dpdk.sh), or configure with -DNETFENCE_DPDK=OFF")
endif()

set(_nf_dpdk_paths "")
foreach(_lib acl hash rcu ethdev net mbuf mempool ring bus_vdev eal kvargs telemetry net_ring)
  string(TOUPPER "${_lib}" _LIB)
  find_library(NETFENCE_DPDK_LIB_${_LIB} NAMES "librte_${_lib}.so.${NETFENCE_DPDK_ABI}"
               PATHS "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}" /usr/lib NO_DEFAULT_PATH)
  if(NOT NETFENCE_DPDK_LIB_${_LIB})
    message(FATAL_ERROR "librte_${_lib}.so.${NETFENCE_DPDK_ABI} not found: run scripts/setup.sh")
  endif()
  list(APPEND _nf_dpdk_paths "${NETFENCE_DPDK_LIB_${_LIB}}")
endforeach()

add_library(netfence_dpdk_deps INTERFACE)
add_library(netfence::dpdk ALIAS netfence_dpdk_deps)
# SYSTEM: the DPDK headers are not -Wpedantic/-Wshadow/-Wvolatile clean under C++20.
target_include_directories(netfence_dpdk_deps SYSTEM INTERFACE "${_nf_dpdk_inc_arch}" "${_nf_dpdk_inc}")
target_compile_options(netfence_dpdk_deps INTERFACE "SHELL:-include rte_config.h" "-march=${NETFENCE_DPDK_MARCH}")
target_link_libraries(netfence_dpdk_deps INTERFACE ${_nf_dpdk_paths} Threads::Threads ${CMAKE_DL_LIBS})

# Experimental in 22.11 (each use is a -Wdeprecated-declarations warning without it):
# rte_rcu_qsbr_dq_*, rte_thread_create/join, rte_eth_link_to_str, rte_ipv4_udptcp_cksum_verify.
add_library(netfence_dpdk_deps_experimental INTERFACE)
add_library(netfence::dpdk_experimental ALIAS netfence_dpdk_deps_experimental)
target_link_libraries(netfence_dpdk_deps_experimental INTERFACE netfence_dpdk_deps)
target_compile_definitions(netfence_dpdk_deps_experimental INTERFACE ALLOW_EXPERIMENTAL_API)
