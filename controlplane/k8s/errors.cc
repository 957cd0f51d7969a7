// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/errors.h"

namespace netfence::k8s {

std::string FieldError::str() const {
  std::string out = path + ": ";
  switch (type) {
    case Type::kInvalid:
      out += "Invalid value";
      break;
    case Type::kRequired:
      out += "Required value";
      break;
    case Type::kUnsupported:
      out += "Unsupported value";
      break;
    case Type::kForbidden:
      out += "Forbidden";
      break;
    case Type::kDuplicate:
      out += "Duplicate value";
      break;
    case Type::kTypeMismatch:
      out += "Invalid type";
      break;
    case Type::kTooMany:
      out += "Too many";
      break;
    case Type::kTooLong:
      out += "Too long";
      break;
  }
  if (!value.empty()) out += ": " + value;
  if (!detail.empty()) out += ": " + detail;
  return out;
}

std::string ObjectError::str() const {
  std::string out;
  if (!source.empty()) out += source + ": ";
  out += (kind.empty() ? std::string("object") : kind) + " \"";
  out += ns.empty() ? name : ns + "/" + name;
  out += "\" is invalid: ";
  for (size_t i = 0; i < errors.size(); ++i) out += (i ? "; " : "") + errors[i].str();
  return out;
}

}  // namespace netfence::k8s
