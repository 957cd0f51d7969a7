// SPDX-License-Identifier: Apache-2.0
// Rendering a DOT graph with Graphviz's `dot` (Debian package graphviz), as netfencectl
// flows --graph does: the format comes from the file's extension.
//
//   Status s = RenderDot(dot_text, "flows.svg");   // dot -Tsvg -o flows.svg < dot_text
//
// .svg .png .pdf .jpg/.jpeg .gif .json render; .dot and .gv are written as they are. An error
// names the file and says what to install when `dot` is missing.
#pragma once

#include <string>

#include "common/base/status.h"

namespace netfence::ctl {

Status RenderDot(const std::string& dot, const std::string& path);

}  // namespace netfence::ctl
