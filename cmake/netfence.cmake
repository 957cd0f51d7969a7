# SPDX-License-Identifier: Apache-2.0
# netfence_library(NAME SOURCES ... DEPS ...): a library of our own code, with warnings on.
function(netfence_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE netfence_warnings)
endfunction()

# netfence_binary(NAME SOURCES ... DEPS ...): an installed tool, lands in build/bin.
function(netfence_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} netfence_warnings)
endfunction()
