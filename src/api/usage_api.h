// The usage ledger as the API sees it: the record of a finished request (built by the
// request pipeline in routes.cpp, handed to usage::Ledger) and the admin endpoint
//   GET /admin/usage?from=&to=&group_by=client|model|key|hour|day
// (admin token, like every /admin/ route) with the sums from the store.
#pragma once

#include <memory>
#include <string_view>

#include "api/exchange.h"
#include "api/router.h"
#include "core/clock.h"
#include "gateway/gateway.h"
#include "usage/ledger.h"
#include "usage/record.h"

namespace bc::api {

// The ledger's record of `exchange`, finished with `status` after `total`.
usage::UsageRecord usage_record_of(const Exchange& exchange, std::string_view route,
                                   const gateway::Gateway& gateway, int status, Duration total);

// Counts what the ledger holds for each key with a daily quota (rpd, tpd) in its current quota
// day, so a restart (or a reload that made a key afresh) does not hand it a fresh day. Keys
// keep the larger of their live count and the stored one.
Status read_back_quotas(const usage::Ledger& ledger, balance::Pool& pool);

// The tokens a finished call used, as the ledger counts them: the answer's usage, else (a
// success without usage) what admission reserved; none for an error.
std::int64_t tokens_used(const gateway::CallReport& report, int status);

// GET /admin/usage. `ledger` null: the endpoint answers 404 usage_off. The query opens the
// store read-only on the worker's thread: rollup reads take a few milliseconds and admin
// queries are rare.
void add_usage_routes(Router& router, std::shared_ptr<usage::Ledger> ledger);

}  // namespace bc::api
