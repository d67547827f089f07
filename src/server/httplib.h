// cpp-httplib, included the same way by every server translation unit.
//
// Debian ships it as a compiled library (libcpp-httplib, linked through
// pkg-config), so its compile-time knobs are fixed there. In particular it
// sends without MSG_NOSIGNAL: processes that write to clients ignore SIGPIPE
// (tools/r1/cmd_serve.cc) so that a write to a client that went away fails
// with EPIPE instead of killing the process.
#pragma once

#include <httplib.h>
