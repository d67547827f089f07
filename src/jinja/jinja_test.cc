// Jinja engine tests: small templates, one feature each, rendered by our
// engine and by python3-jinja2 (configured like HF transformers) and
// compared byte for byte; plus unit tests for errors and limits.
#include "jinja/jinja.h"

#include <gtest/gtest.h>

#include "util/skip.h"

#include "jinja/oracle_testutil.h"

namespace r1::chat {
namespace {

using testing::OracleJob;
using testing::OracleResult;

const char* kContext = R"JSON({
  "messages": [{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "Hi there"},
               {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello!"}],
  "s": "  Hello, World  ", "u": "héllo wörld ünïcode 日本語 🙂", "n": 7, "f": 2.5, "neg": -3,
  "t": true, "nil": null, "items": [3, 1, 2], "words": ["banana", "Apple", "cherry"],
  "d": {"b": 2, "a": 1, "c": {"x": [1, 2]}},
  "users": [{"name": "ann", "age": 31, "admin": true}, {"name": "Bob", "age": 25, "admin": false},
            {"name": "cy", "age": 40}],
  "empty": [], "q": "it's \"quoted\" \\ back\nslash\ttab", "big": 12345678901234, "tiny": 0.0001
})JSON";

// Each template exercises one feature; all render against kContext.
const char* const kCases[] = {
    // Whitespace control: trim_blocks, lstrip_blocks, -, +.
    "a\n  {% if t %}\n  yes\n  {% endif %}\nb",
    "a  {%- if t -%}  yes  {%- endif -%}  b",
    "x\n    {%+ if t %}kept indent{% endif %}\n",
    "{% if t +%}\nnewline kept{% endif %}",
    "  {{ n }}  \n  {{- n }}\n{{ n -}}   z",
    "{# comment #}\nafter\n  {#- c2 -#}  tight",
    "line1\n{% raw %}{{ not parsed }} {% if %}{% endraw %}\nline2",
    "{% for i in items %}\n  - {{ i }}\n{% endfor %}\n",
    "text with trailing newline\n",
    "{%- for m in messages %}\n{{ m.role }}\n{%- endfor %}",
    // set, block set, namespace.
    "{% set x = 'a' ~ n ~ f %}{{ x }}",
    "{% set a, b = [1, 2] %}{{ b }}{{ a }}",
    "{% set blk %}Hi {{ users[0].name }}!{% endset %}[{{ blk }}]",
    "{% set blk | upper %}shout{% endset %}{{ blk }}",
    "{% set ns = namespace(c=0, s='') %}{% for u in users %}{% set ns.c = ns.c + u.age %}{% set ns.s = ns.s ~ u.name %}{% endfor %}{{ ns.c }}-{{ ns.s }}",
    "{% set x = 1 %}{% for i in items %}{% set x = i %}{% endfor %}{{ x }}",
    "{% set x = 9 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}({{ x }}){% endfor %}{{ x }}",
    "{% set x = 1 %}{% if t %}{% set x = 2 %}{% endif %}{{ x }}",
    // if / elif / else.
    "{% if n > 10 %}big{% elif n > 5 %}mid{% else %}small{% endif %}",
    "{% if nil %}a{% elif empty %}b{% elif d %}c{% endif %}",
    "{{ 'yes' if t else 'no' }} {{ 'x' if nil }}|",
    // for and loop.*.
    "{% for i in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for i in items %}{{ loop.previtem }}>{{ i }}>{{ loop.nextitem }} {% endfor %}",
    "{% for i in items %}{{ loop.cycle('odd', 'even') }} {% endfor %}",
    "{% for i in empty %}x{% else %}none{% endfor %}",
    "{% for u in users if u.admin is defined %}{{ u.name }}{{ loop.length }}{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héy' %}[{{ c }}]{% endfor %}",
    "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for a in [[1, 2], [3]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}|{% endfor %}",
    "{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}",
    // Macros.
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }} {{ greet(punct='.', name='c') }}",
    "{% macro show(x) %}{{ x is defined }}{% endmacro %}{{ show() }}{{ show(1) }}",
    "{% macro outer() %}{{ n }}{% endmacro %}{% set n = 99 %}{{ outer() }}",
    // Strings: concatenation, slicing, escapes, methods.
    "{{ 'a' + 'b' ~ 1 ~ none ~ true }}",
    "{{ u[0] }}{{ u[-1] }}{{ u[2:5] }}{{ u[::-2] }}{{ u[:3] }}{{ u[100:] }}|{{ items[1:] }}{{ items[-2:] }}",
    "{{ 'tab\\there' }}|{{ \"q'uote\" }}|{{ '\\u00e9\\x41' }}|{{ 'back\\\\slash' }}",
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nab\\n'.lstrip('\\n') }}",
    "{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a-b-c'.split('-', 1) }}{{ 'a-b-c'.rsplit('-', 1) }}",
    "{{ s.startswith('  He') }}{{ s.endswith('x') }}{{ u.startswith(('a', 'h')) }}",
    "{{ q.replace('\\n', ' ') }}|{{ 'aaa'.replace('a', 'b', 2) }}",
    "{{ u.upper() }}|{{ 'ABC Déf'.lower() }}|{{ 'hello wORLD-x y'.title() }}|{{ 'hELLO'.capitalize() }}",
    "{{ 'hello'.find('l') }}{{ 'hello'.count('l') }}{{ '-'.join(words) }}{{ 'x'.isdigit() }}{{ '12'.isdigit() }}",
    "{{ messages[2].content.split('</think>')[-1].lstrip('\\n') }}",
    // Dict methods, in, literals.
    "{{ d.keys() | list }}{{ d.values() | list }}{{ d.items() | list }}{{ d.get('a') }}{{ d.get('z', 'def') }}{{ d.get('z') }}",
    "{{ 'a' in d }}{{ 'z' not in d }}{{ 2 in items }}{{ 'ell' in 'hello' }}{{ 'x' in empty }}",
    "{{ {'k': [1, 2.0, 'x', none, true], 'e': {}} }}{{ [] }}{{ (1, 2) | list }}",
    "{{ d['c']['x'][1] }}{{ d.c.x[0] }}{{ users[1]['name'] }}",
    // Tests.
    "{{ nil is none }}{{ n is not none }}{{ zz is defined }}{{ zz is undefined }}{{ s is string }}{{ d is mapping }}{{ items is mapping }}",
    "{{ n is number }}{{ f is integer }}{{ f is float }}{{ t is boolean }}{{ items is iterable }}{{ n is iterable }}{{ s is sequence }}",
    "{{ n is even }}{{ n is odd }}{{ 9 is divisibleby 3 }}{{ t is true }}{{ nil is false }}{{ nil is sameas none }}",
    "{{ n is eq 7 }}{{ n is ne 7 }}{{ n is lt 8 }}{{ n is gt(8) }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 2 is in(items) }}",
    // Filters.
    "[{{ s | trim }}][{{ 'xxaxx' | trim('x') }}]",
    "{{ d | tojson }}|{{ u | tojson }}|{{ q | tojson }}|{{ [1, 2.5, none, true] | tojson }}",
    "{{ users | tojson(indent=2) }}{{ {} | tojson(indent=4) }}{{ [] | tojson(indent=2) }}",
    "{{ items | length }}{{ d | length }}{{ u | length }}{{ zz | length }}{{ s | count }}",
    "{{ zz | default('dflt') }}{{ nil | default('x') }}{{ '' | default('empty', true) }}{{ 0 | d('z', boolean=true) }}",
    "{{ items | first }}{{ items | last }}{{ words | first | upper }}{{ 'abc' | last }}|{{ empty | first }}|",
    "{{ items | join }}{{ items | join(', ') }}{{ users | join('/', attribute='name') }}",
    "{{ 'abc' | list }}{{ d | list }}{{ users | map(attribute='name') | list }}{{ words | map('upper') | join(',') }}",
    "{{ users | selectattr('admin') | map(attribute='name') | list }}{{ users | rejectattr('admin') | map(attribute='name') | list }}",
    "{{ users | selectattr('age', 'gt', 30) | list | length }}{{ users | selectattr('admin', 'defined') | list | length }}{{ users | rejectattr('admin', 'none') | list | length }}",
    "{{ items | select('odd') | list }}{{ items | reject('odd') | list }}{{ [0, 1, '', 'a', none] | select | list }}",
    "{{ n | string }}{{ '42' | int + 1 }}{{ '4.7' | int }}{{ 'x' | int(5) }}{{ f | int }}{{ '2.5' | float }}{{ n | float }}",
    "{{ 'abc' | upper }}{{ 'ABC' | lower }}{{ 'aXbX' | replace('X', '-') }}{{ 'hELLO wOrld' | capitalize }}{{ 'hi there-you' | title }}",
    "{{ neg | abs }}{{ 2.567 | round(2) }}{{ 2.5 | round }}{{ 3.5 | round }}{{ 2.1 | round(0, 'ceil') }}{{ 2.9 | round(method='floor') }}",
    "{{ words | sort }}{{ words | sort(reverse=true) }}{{ words | sort(case_sensitive=true) }}{{ users | sort(attribute='age') | map(attribute='name') | join }}",
    "{{ [1, 2, 1, 3, 2] | unique | list }}{{ items | reverse | list }}{{ 'abc' | reverse }}",
    "{{ d | dictsort }}{{ d | items | list }}{{ items | sum }}{{ users | sum(attribute='age') }}{{ items | min }}{{ items | max }}",
    "{{ items | batch(2) | list }}{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'x\\ny' | indent(3, true) }}|{{ 'hi' | center(6) }}|{{ 'a b  c' | wordcount }}",
    "{{ '<a href=\"x\">&</a>' | e }}{{ 'ok' | safe }}",
    "{% filter upper %}inside {{ n }}{% endfilter %}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}",
    // Arithmetic, comparison, logic.
    "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
    "{{ 1 + 2 * 3 - 4 }} {{ (1 + 2) * 3 }} {{ -n }} {{ +f }} {{ n * f }} {{ 'ab' * 3 }} {{ [0] * 3 }} {{ 10 / 4 }} {{ 4 / 2 }}",
    "{{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ tiny }} {{ 0.00001 }} {{ 1 / 3 }} {{ big }} {{ 0.1 + 0.2 }} {{ 1.5e-7 }} {{ -0.0 }}",
    "{{ n == 7 }}{{ n != 7.0 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}{{ n >= 7 }}{{ n <= 6 }}{{ none == none }}{{ 1 == true }}",
    "{{ nil or 'fallback' }}|{{ 0 and 'x' }}|{{ 'a' and 'b' }}|{{ not empty }}|{{ not n }}|{{ t and nil }}",
    "{{ n > 5 and n < 10 or false }}{{ not n is none }}{{ -2 ** 2 }}{{ (n | string) + 'x' }}{{ n ~ 'x' }}",
    // Globals.
    "{{ range(3) | list }}{{ range(1, 10, 3) | list }}{{ range(5, 0, -2) | list }}{{ dict(a=1, b='x') }}",
    "{{ namespace(a=1).a }}{% set ns = namespace() %}{% set ns.z = 5 %}{{ ns.z }}",
    // Undefined behaviour.
    "[{{ zz }}][{{ d.zz }}][{{ users[9] }}][{{ zz | string }}][{% for x in zz %}x{% endfor %}]",
    "{{ zz.attr }}",
    "{{ d.zz.yy }}",
    "{{ zz + 1 }}",
    "{{ 'a' + 1 }}",
    "{{ nil + 'x' }}",
    "{{ raise_exception('custom failure') }}",
    "{% if %}",
    "{{ x | nosuchfilter }}",
    "{% for %}",
    "{{ 1 / 0 }}",
    "{% for x in nil %}{% endfor %}",
    "{{ items.append(4) }}",
    "{{ nil.content }}",
    "{{ n.nosuch }}|{{ s.nosuch }}|{{ d.nosuch }}",
    "{{ nil.nosuch }}",
    "{{ 'abc' < 1 }}",
    "{% endif %}",
    "{{ (1 }}",
};

class JinjaOracleTest : public ::testing::Test {};

TEST_F(JinjaOracleTest, SmallTemplatesMatchPythonJinja2) {
  std::string reason = testing::OracleUnavailableReason();
  if (!reason.empty()) R1_SKIP_OR_FAIL(reason);
  auto ctx = nlohmann::ordered_json::parse(kContext);
  std::vector<OracleJob> jobs;
  for (const char* c : kCases) jobs.push_back({c, ctx});
  std::vector<OracleResult> want;
  std::string err;
  ASSERT_TRUE(testing::RunOracle(jobs, &want, &err)) << err;
  int same = 0, both_fail = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    OracleResult got = testing::RenderOurs(jobs[i]);
    EXPECT_EQ(got.ok, want[i].ok) << "case " << i << ": " << jobs[i].tmpl << "\n ours: "
                                  << (got.ok ? got.output : got.error) << "\n jinja2: "
                                  << (want[i].ok ? want[i].output : want[i].error);
    if (got.ok && want[i].ok) {
      EXPECT_EQ(got.output, want[i].output) << "case " << i << ": " << jobs[i].tmpl;
      same += got.output == want[i].output;
    }
    both_fail += !got.ok && !want[i].ok;
  }
  EXPECT_GE(jobs.size(), 50u);
  std::printf("[oracle] %d of %zu small templates byte-identical, %d fail in both\n", same, jobs.size(), both_fail);
}

// ---- unit tests that need no oracle -------------------------------------------

StatusOr<std::string> Render(const std::string& src, const jinja::RenderLimits& limits = {}) {
  auto t = jinja::Template::Parse(src);
  if (!t.ok()) return t.status();
  jinja::Dict vars;
  vars.Set(jinja::Value::String("xs"), jinja::Value::List({jinja::Value::Int(1), jinja::Value::Int(2)}));
  return t->Render(vars, limits);
}

TEST(JinjaTest, RendersBasics) {
  auto r = Render("{% for x in xs %}{{ x * 2 }}{% if not loop.last %},{% endif %}{% endfor %}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "2,4");
}

TEST(JinjaTest, ParseErrorNamesLine) {
  auto r = Render("line one\n{% if x %}\nthree\n{{ 1 + }}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 4"), std::string::npos) << r.status().message();
  auto unclosed = Render("a\nb\n{% for x in xs %}");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().message().find("endfor"), std::string::npos) << unclosed.status().message();
}

TEST(JinjaTest, RenderErrorNamesLine) {
  auto r = Render("one\ntwo\n{{ missing.attr }}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 3: 'missing' is undefined");
  auto e = Render("\n{{ raise_exception('bad role') }}");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "line 2: bad role");
}

TEST(JinjaTest, LimitsStopRunawayTemplates) {
  jinja::RenderLimits limits;
  limits.max_loop_iterations = 1000;
  auto loops = Render("{% for i in range(100) %}{% for j in range(100) %}x{% endfor %}{% endfor %}", limits);
  ASSERT_FALSE(loops.ok());
  EXPECT_EQ(loops.status().code(), StatusCode::kResourceExhausted);

  limits = {};
  limits.max_output_bytes = 1000;
  auto big = Render("{{ 'x' * 100000 }}", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);

  auto rec = Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kResourceExhausted);

  std::string deep(5000, '(');
  EXPECT_FALSE(Render("{{ " + deep + "1 }}").ok());
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_FALSE(Render(chain + " }}").ok());

  auto nest = Render("{% set ns = namespace(x=[]) %}{% for i in range(2000) %}{% set ns.x = [ns.x] %}{% endfor %}");
  ASSERT_FALSE(nest.ok());
  EXPECT_EQ(nest.status().code(), StatusCode::kResourceExhausted);
}

TEST(JinjaTest, SelfReferencingNamespaceDoesNotHang) {
  auto r = Render("{% set ns = namespace() %}{% set ns.me = [ns, ns] %}{{ ns.me | length }}");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

}  // namespace
}  // namespace r1::chat
