// SPDX-License-Identifier: Apache-2.0
// Validation of Pods (container ports, pod IPs) and the FieldError wording.
#include <gtest/gtest.h>

#include <string>

#include "controlplane/k8s/validate.h"
#include "tests/controlplane/k8s/validate_fixtures.h"
#include "tests/testing/field_errors.h"

namespace netfence::k8s {
namespace {

using Type = FieldError::Type;
using testing_helpers::Dump;
using testing_helpers::HasError;
using namespace validate_fixtures;  // NOLINT: Validate overloads, ValidPod

// ---- Pod --------------------------------------------------------------------------------

TEST(ValidateTest, ContainerPortRange) {
  Pod pod = ValidPod();
  pod.ports = {{"", 0, "TCP"}, {"", 70000, "TCP"}};
  auto errors = Validate(pod);
  EXPECT_TRUE(HasError(errors, Type::kRequired, "spec.containers[0].ports[0].containerPort"));
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "spec.containers[0].ports[1].containerPort",
                       "must be between 1 and 65535, inclusive"));
}

TEST(ValidateTest, ContainerPortProtocol) {
  Pod pod = ValidPod();
  pod.ports = {{"", 80, "HTTP"}, {"", 81, ""}};
  auto errors = Validate(pod);
  EXPECT_TRUE(HasError(errors, Type::kUnsupported, "spec.containers[0].ports[0].protocol",
                       "supported values: \"SCTP\", \"TCP\", \"UDP\""));
  EXPECT_TRUE(HasError(errors, Type::kRequired, "spec.containers[0].ports[1].protocol"));
}

TEST(ValidateTest, ContainerPortName) {
  Pod pod = ValidPod();
  pod.ports = {{"Web", 80, "TCP"}};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "spec.containers[0].ports[0].name",
                       "must contain only alpha-numeric characters"));
}

TEST(ValidateTest, ContainerPortNamesUnique) {
  Pod pod = ValidPod();
  pod.ports = {{"http", 80, "TCP"}, {"metrics", 9090, "TCP"}, {"http", 8080, "TCP"}};
  auto errors = Validate(pod);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_EQ(errors[0].str(), "spec.containers[0].ports[2].name: Duplicate value: \"http\"");
}

TEST(ValidateTest, ContainerPortNamesAreUniquePerContainerOnly) {
  Pod pod = ValidPod();
  ContainerPort second{"http", 8080, "TCP"};
  second.container = 1;
  pod.ports = {{"http", 80, "TCP"}, second};
  EXPECT_TRUE(Validate(pod).empty()) << Dump(Validate(pod));
  pod.ports.push_back(second);
  pod.ports.back().container_port = 8081;
  auto errors = Validate(pod);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_EQ(errors[0].str(), "spec.containers[1].ports[1].name: Duplicate value: \"http\"");
}

TEST(ValidateTest, PodIPsMustBeIPs) {
  Pod pod = ValidPod();
  pod.pod_ips = {"10.0.0.5", "10.0.0.256"};
  auto errors = Validate(pod);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_TRUE(HasError(errors, Type::kInvalid, "status.podIPs[1]", "must be a valid IP address"));
  EXPECT_EQ(errors[0].value, "\"10.0.0.256\"");
  pod.pod_ips = {"10.0.0.0/8"};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "status.podIPs[0]"));
  pod.pod_ips = {"fd00::zz"};
  EXPECT_TRUE(HasError(Validate(pod), Type::kInvalid, "status.podIPs[0]"));
}

TEST(ValidateTest, PodIPsOnePerFamily) {
  Pod pod = ValidPod();
  pod.pod_ips = {"10.0.0.5", "10.0.0.6"};
  EXPECT_TRUE(
      HasError(Validate(pod), Type::kInvalid, "status.podIPs", "may specify no more than one IP for each IP family"));
  pod.pod_ips = {"fd00::5", "10.0.0.5"};
  EXPECT_TRUE(Validate(pod).empty());
  pod.pod_ips = {};
  EXPECT_TRUE(Validate(pod).empty());  // a pending pod has no IP yet
}

TEST(ValidateTest, FieldErrorStrings) {
  EXPECT_EQ((FieldError{Type::kRequired, "spec.ingress[0].from[0]", "", "must specify a peer"}.str()),
            "spec.ingress[0].from[0]: Required value: must specify a peer");
  EXPECT_EQ((FieldError{Type::kRequired, "metadata.namespace", "", ""}.str()), "metadata.namespace: Required value");
  // String values are quoted with Go's escapes.
  Pod pod = ValidPod();
  pod.meta.labels = {{"app", "a\"b"}};
  auto errors = Validate(pod);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].value, "\"a\\\"b\"");
}

}  // namespace
}  // namespace netfence::k8s
