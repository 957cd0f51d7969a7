// SPDX-License-Identifier: Apache-2.0
// Field errors reported the way the API server (and so `kubectl apply`) reports them:
//   spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to port
#pragma once

#include <string>
#include <vector>

namespace netfence::k8s {

struct FieldError {
  enum class Type { kInvalid, kRequired, kUnsupported, kForbidden, kDuplicate, kTypeMismatch, kTooMany, kTooLong };
  Type type = Type::kInvalid;
  std::string path;    // spec.ingress[0].from[1].ipBlock.cidr
  std::string value;   // the offending value as written (quoted for strings), may be empty
  std::string detail;  // why it is wrong

  std::string str() const;
};

using FieldErrors = std::vector<FieldError>;

// One rejected object: where it came from, which object, and every field error.
struct ObjectError {
  std::string source;  // "dir/file.yaml" (document 2) or "watch pods"
  std::string kind;
  std::string ns;
  std::string name;
  FieldErrors errors;

  // `NetworkPolicy "x/allow-a" is invalid: spec.podSelector...: ...; ...` with the source first.
  std::string str() const;
};

}  // namespace netfence::k8s
