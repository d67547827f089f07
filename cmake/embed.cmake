# Writes OUT, a C++ file defining r1::server::kWebUiPage (the bytes of IN) and
# kWebUiPageSize: the web chat page built into the binary. Run with
#   cmake -DIN=page.html -DOUT=page.cc -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){24})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by cmake/embed.cmake; do not edit.\n#include <cstddef>\n\nnamespace r1::server {\nextern const char kWebUiPage[];\nextern const size_t kWebUiPageSize;\nconst char kWebUiPage[] = {\n${bytes}'\\0'};\nconst size_t kWebUiPageSize = ${size};\n}  // namespace r1::server\n")
file(RENAME "${OUT}.tmp" "${OUT}")
