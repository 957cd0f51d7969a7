// SPDX-License-Identifier: Apache-2.0
// CNI_ARGS parsing and the checks on CNI_CONTAINERID / CNI_IFNAME (dataplane/cni/cni_args.h).
#include "dataplane/cni/cni_args.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace netfence::cni {
namespace {

using Args = std::map<std::string, std::string>;

TEST(CniArgsTest, ParsesContainerdStyleArgs) {
  auto args = ParseCniArgs(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9;K8S_POD_INFRA_CONTAINER_ID=c0ffee;"
      "K8S_POD_UID=0b1e4c3a-1111-2222-3333-444455556666");
  ASSERT_TRUE(args.ok()) << args.status().message();
  EXPECT_EQ(*args, (Args{{"IgnoreUnknown", "1"},
                         {"K8S_POD_NAMESPACE", "shop"},
                         {"K8S_POD_NAME", "cart-7d9"},
                         {"K8S_POD_INFRA_CONTAINER_ID", "c0ffee"},
                         {"K8S_POD_UID", "0b1e4c3a-1111-2222-3333-444455556666"}}));
}

TEST(CniArgsTest, EmptyAndDegenerateInputs) {
  auto empty = ParseCniArgs("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  // Empty segments (a trailing or doubled ';') are skipped; empty values are kept.
  auto sparse = ParseCniArgs(";A=1;;B=;");
  ASSERT_TRUE(sparse.ok()) << sparse.status().message();
  EXPECT_EQ(*sparse, (Args{{"A", "1"}, {"B", ""}}));

  // A value may contain '='; the last of repeated keys wins.
  auto tricky = ParseCniArgs("X=a=b;X=c=d");
  ASSERT_TRUE(tricky.ok()) << tricky.status().message();
  EXPECT_EQ(*tricky, (Args{{"X", "c=d"}}));
}

TEST(CniArgsTest, MalformedPairsAreNamed) {
  auto no_eq = ParseCniArgs("K8S_POD_NAMESPACE=shop;garbage");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_NE(no_eq.status().message().find("'garbage'"), std::string::npos) << no_eq.status().message();
  EXPECT_NE(no_eq.status().message().find("CNI_ARGS"), std::string::npos);

  auto no_key = ParseCniArgs("=value");
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("'=value'"), std::string::npos) << no_key.status().message();
}

TEST(CniArgsTest, ContainerIdFollowsLibcniRule) {
  EXPECT_TRUE(ValidateContainerId("a51debf7e1eb").ok());
  EXPECT_TRUE(ValidateContainerId("A.b_c-9").ok());
  EXPECT_EQ(ValidateContainerId("").message(), "missing containerID");
  for (const char* bad :
       {"-leading", "_leading", ".leading", "1234%%%", "has space", "slash/inside", "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_EQ(ValidateContainerId(bad).message(), "invalid characters in containerID") << bad;
  }
}

TEST(CniArgsTest, InterfaceNameFollowsKernelRule) {
  EXPECT_TRUE(ValidateInterfaceName("eth0").ok());
  EXPECT_TRUE(ValidateInterfaceName("veth0123456789a").ok());  // 15 bytes
  EXPECT_EQ(ValidateInterfaceName("").message(), "interface name is empty");
  EXPECT_EQ(ValidateInterfaceName("veth0123456789ab").message(), "interface name is too long");
  EXPECT_EQ(ValidateInterfaceName(".").message(), "interface name is . or ..");
  EXPECT_EQ(ValidateInterfaceName("..").message(), "interface name is . or ..");
  for (const char* bad : {"eth0:1", "a/b", "a b", "a\tb", "a\nb"}) {
    EXPECT_EQ(ValidateInterfaceName(bad).message(), "interface name contains / or : or whitespace characters") << bad;
  }
}

TEST(CniArgsTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_FALSE(IsValidUtf8("\x80"));                                      // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3"));                                      // truncated
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                                  // truncated
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));                                  // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));                                  // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));                              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));                              // UTF-16 surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));                          // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace netfence::cni
