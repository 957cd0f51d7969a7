// SPDX-License-Identifier: Apache-2.0
// netfence-cni: the chained CNI plugin that plugs each new pod into the node agent.
//
// It runs last in the conflist, after the interface plugin (bridge, ptp) that made the pod's
// veth: ADD reads the host-side interfaces and the IPs from prevResult, asks the agent (unix
// socket, dataplane/agent/protocol.h) to enforce the pod's policy on them, and passes prevResult
// through. When the agent cannot confirm, ADD fails closed: it sets the pod's host-side veth
// down, so the pod sends and receives nothing unfiltered, and reports the error to the runtime.
// DEL is idempotent and succeeds when the agent is away (it reconciles on restart); CHECK,
// STATUS and GC ask the agent.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "dataplane/cni/netconf.h"

namespace netfence::cni {

using Env = std::map<std::string, std::string>;

// Runs one CNI command the way a runtime runs the binary: `env` holds the CNI_* variables (an
// empty value counts as unset), `stdin_text` the configuration. The result, or the error JSON,
// goes to *out (the binary's stdout), diagnostics to *log (stderr). Returns the exit status: 0,
// or 1 with an error on *out. Never throws, whatever the input.
int RunPlugin(const Env& env, std::string_view stdin_text, std::string* out, std::string* log);

// The error result as printed on stdout: {"cniVersion","code","msg","details"}. cni_version is the
// configuration's when we support it, else the latest we do.
std::string ErrorJson(const CniError& error, std::string_view cni_version);

}  // namespace netfence::cni
