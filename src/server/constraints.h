// A request's constraint (response_format, grammar, a forced tool_choice) as
// GBNF for the grammar engine (grammar/grammar.h).
#pragma once

#include <string>

#include "chat/tool_calls.h"
#include "r1/status.h"
#include "server/api_request.h"

namespace r1::server {

// "" when the request has no constraint. A schema the engine does not
// support, or an invalid one, is InvalidArgument; *param names the field
// ("response_format.json_schema.schema", "tools[0].function.parameters").
[[nodiscard]] StatusOr<std::string> ConstraintGbnf(const ApiRequest& r, chat::ToolCallFormat format,
                                                   std::string* param);

}  // namespace r1::server
