// `balancedcall probe`: one minimal request through each key of each active model (or of one
// model), in turn, and a table of what happened: the key's public id, the status, the
// latency and the classified error with what the gateway would do about it. The operator's
// way to check a config's keys before (or beside) serving with them.
#pragma once

#include <memory>
#include <string>

#include "gateway/gateway.h"

namespace bc {

// Prints the table to stdout. 0 when every probed key answered, 1 when any failed.
int run_probe(std::shared_ptr<gateway::Gateway> gateway, const std::string& only_model);

}  // namespace bc
