// SPDX-License-Identifier: Apache-2.0
// Whole-file reads and atomic writes, with errors that name the file (and what it is for).
#pragma once

#include <string>

#include "common/base/status.h"

namespace netfence {

// The file's bytes; the error reads "<what> <path>: <reason>" ("--tls-cert /x: No such file").
StatusOr<std::string> ReadWholeFile(const std::string& path, const std::string& what = "file");

// Writes `bytes` to path.tmp and renames it over `path`: a reader sees the old file or the
// new one, never a part.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace netfence
