// Reads the daily quota fields of a model (rpd, tpd, quota_reset_hour, quota_time_zone) and the
// budget fields of a client key (requests_per_day, tokens_per_day, tokens_per_month): their own
// file, so the loader only names them. An IANA time zone is read from its TZif file under
// $TZDIR (default /usr/share/zoneinfo, Debian's tzdata) at load time.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace bc::config {

void read_quota_fields(detail::Reader& reader, const detail::MapReader& model, ModelConfig& out);
// False when a field is wrong (reported).
bool read_budget_fields(detail::Reader& reader, const detail::MapReader& client,
                        ClientKeyConfig& out);

}  // namespace bc::config
