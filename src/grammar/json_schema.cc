// JSON Schema -> GBNF (grammar.h lists the keywords). Each schema becomes a
// rule named after its place in the document; $refs become rule references,
// so recursive schemas stay finite.
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "grammar/grammar.h"
#include "grammar/internal.h"
#include "tokenizer/unicode.h"

namespace r1::grammar {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kPrimitives = R"(lead ::= [ \t\n]{0,6}
ws ::= ( " " | "\n" [ \t]{0,20} )?
json-char ::= [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
json-string ::= "\"" json-char* "\""
json-integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
json-number ::= json-integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
json-boolean ::= "true" | "false"
json-null ::= "null"
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-object ::= "{" ws ( json-string ws ":" ws json-value ws ( "," ws json-string ws ":" ws json-value ws )* )? "}"
json-array ::= "[" ws ( json-value ws ( "," ws json-value ws )* )? "]"
)";

const std::set<std::string>& Annotations() {
  static const std::set<std::string> k{"title", "description", "default", "examples", "$schema", "$id", "$comment",
                                       "deprecated", "readOnly", "writeOnly", "$anchor", "strict", "name"};
  return k;
}
const std::set<std::string>& Supported() {
  static const std::set<std::string> k{"type", "properties", "required", "additionalProperties", "enum", "const",
                                       "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength",
                                       "pattern", "format", "anyOf", "oneOf", "allOf", "$ref", "$defs",
                                       "definitions"};
  return k;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

class Compiler {
 public:
  Compiler(const json& root, std::string prefix) : root_(root), prefix_(std::move(prefix)) {
    reserved_.insert(prefix_ + "root");  // the entry rule Run writes
  }

  StatusOr<std::string> Run() {
    auto e = Visit(root_, "root", "");
    if (!e.ok()) return e.status();
    std::string out = prefix_ + "root ::= " + e.value() + "\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out;
  }

 private:
  static Status Bad(const std::string& where, const std::string& what) {
    return Status::InvalidArgument(fmt::format("json_schema: {}{}", where.empty() ? "" : where + ": ", what));
  }
  static std::string At(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }
  std::string NewRule(const std::string& hint) {
    std::string base;
    for (char c : hint) base.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '-');
    if (base.empty() || base.size() > 40) base = "s";
    std::string name = prefix_ + base;
    for (int k = 2; rules_.count(name) || reserved_.count(name); ++k) name = prefix_ + base + "-" + std::to_string(k);
    reserved_.insert(name);
    return name;
  }
  std::string Define(const std::string& hint, const std::string& body) {
    const std::string name = NewRule(hint);
    rules_[name] = body;
    return name;
  }

  StatusOr<int64_t> Count(const json& s, const std::string& key, const std::string& where) {
    const json& v = s.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 4096)
      return Bad(At(where, key), "must be an integer from 0 to 4096");
    return v.get<int64_t>();
  }

  // A schema's {min_key, max_key} pair (absent: 0 and -1, unbounded).
  Status Range(const json& s, const char* min_key, const char* max_key, const std::string& where, int64_t* mn,
               int64_t* mx) {
    for (const auto& [key, out] : {std::pair{min_key, mn}, std::pair{max_key, mx}}) {
      if (!s.contains(key)) continue;
      auto v = Count(s, key, where);
      if (!v.ok()) return v.status();
      *out = v.value();
    }
    if (*mx >= 0 && *mx < *mn) return Bad(At(where, max_key), std::string("is less than ") + min_key);
    return Status::Ok();
  }

  StatusOr<std::string> Ref(const std::string& ref, const std::string& where) {
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    const json* target = nullptr;
    std::string path;
    if (ref == "#") {
      target = &root_;
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        if (ref.rfind(prefix, 0) == 0) {
          const std::string section = std::string(prefix).substr(2, std::string(prefix).size() - 3);
          const std::string key = ref.substr(std::string(prefix).size());
          if (root_.is_object() && root_.contains(section) && root_[section].is_object() &&
              root_[section].contains(key)) {
            target = &root_[section][key];
            path = section + "." + key;
          }
        }
      }
    }
    if (!target) return Bad(At(where, "$ref"), "'" + ref + "' does not resolve (only #, #/$defs/NAME and #/definitions/NAME)");
    const std::string name = NewRule(ref == "#" ? "root-ref" : path);
    refs_[ref] = name;  // before the body: a recursive reference finds it
    auto body = Visit(*target, path.empty() ? "root" : path, path);
    if (!body.ok()) return body.status();
    rules_[name] = body.value();
    return name;
  }

  // The GBNF expression for `s` (found at `where`).
  StatusOr<std::string> Visit(const json& s, const std::string& hint, const std::string& where) {
    if (++depth_ > 64) return Bad(where, "schema nested more than 64 deep");
    struct Leave {
      int* d;
      ~Leave() { --*d; }
    } leave{&depth_};
    if (s.is_boolean()) {
      if (!s.get<bool>()) return Bad(where, "the schema 'false' matches nothing");
      return std::string("json-value");
    }
    if (!s.is_object()) return Bad(where, "a schema must be an object or a boolean");
    for (const auto& [key, value] : s.items()) {
      if (!Supported().count(key) && !Annotations().count(key))
        return Bad(At(where, key), "the keyword '" + key + "' is not supported");
    }
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) return Bad(At(where, "$ref"), "must be a string");
      for (const auto& [key, value] : s.items())
        if (key != "$ref" && key != "$defs" && key != "definitions" && !Annotations().count(key))
          return Bad(At(where, key), "'" + key + "' beside $ref is not supported");
      return Ref(s["$ref"].get<std::string>(), where);
    }
    if (s.contains("const")) return GbnfLiteral(Dump(s["const"]));
    if (s.contains("enum")) {
      const json& e = s["enum"];
      if (!e.is_array() || e.empty()) return Bad(At(where, "enum"), "must be a non-empty array");
      std::string alts;
      for (const json& v : e) alts += (alts.empty() ? "" : " | ") + GbnfLiteral(Dump(v));
      return Define(hint, alts);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      const json& a = s[key];
      if (!a.is_array() || a.empty()) return Bad(At(where, key), "must be a non-empty array");
      std::string alts;
      for (size_t k = 0; k < a.size(); ++k) {
        auto e = Visit(a[k], hint + "-" + std::to_string(k), At(where, key) + "[" + std::to_string(k) + "]");
        if (!e.ok()) return e.status();
        alts += (alts.empty() ? "" : " | ") + e.value();
      }
      return Define(hint, alts);
    }
    if (s.contains("allOf")) {
      const json& a = s["allOf"];
      if (!a.is_array() || a.size() != 1)
        return Bad(At(where, "allOf"), "only an allOf of one schema is supported");
      return Visit(a[0], hint, At(where, "allOf") + "[0]");
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      const json& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const json& x : t) {
          if (!x.is_string()) return Bad(At(where, "type"), "must be a string or an array of strings");
          types.push_back(x.get<std::string>());
        }
      } else {
        return Bad(At(where, "type"), "must be a string or an array of strings");
      }
    } else if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("prefixItems")) {
      types.push_back("array");
    } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") || s.contains("maxLength")) {
      types.push_back("string");
    } else {
      return std::string("json-value");
    }
    std::string alts;
    for (const std::string& t : types) {
      auto e = Typed(s, t, types.size() > 1 ? hint + "-" + t : hint, where);
      if (!e.ok()) return e.status();
      alts += (alts.empty() ? "" : " | ") + e.value();
    }
    return types.size() == 1 ? alts : Define(hint, alts);
  }

  StatusOr<std::string> Typed(const json& s, const std::string& type, const std::string& hint,
                              const std::string& where) {
    if (type == "string") return String(s, hint, where);
    if (type == "integer") return std::string("json-integer");
    if (type == "number") return std::string("json-number");
    if (type == "boolean") return std::string("json-boolean");
    if (type == "null") return std::string("json-null");
    if (type == "object") return Object(s, hint, where);
    if (type == "array") return Array(s, hint, where);
    return Bad(At(where, "type"), "unknown type '" + type + "'");
  }

  StatusOr<std::string> String(const json& s, const std::string& hint, const std::string& where) {
    const bool lengths = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return Bad(At(where, "pattern"), "must be a string");
      if (lengths || s.contains("format"))
        return Bad(At(where, "pattern"), "pattern together with minLength, maxLength or format is not supported");
      auto e = RegexExpr(s["pattern"].get<std::string>(), true);
      if (!e.ok()) return Bad(At(where, "pattern"), e.status().message());
      return Define(hint, "\"\\\"\" " + e.value() + " \"\\\"\"");
    }
    if (s.contains("format")) {
      if (!s["format"].is_string()) return Bad(At(where, "format"), "must be a string");
      if (lengths) return Bad(At(where, "format"), "format together with minLength or maxLength is not supported");
      static const std::map<std::string, std::string> kFormats{
          {"date", R"([0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ))"},
          {"time", R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))"},
          {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})"},
      };
      const std::string f = s["format"].get<std::string>();
      std::string body;
      if (f == "date-time") {
        body = "( " + kFormats.at("date") + " ) \"T\" ( " + kFormats.at("time") + " )";
      } else if (auto it = kFormats.find(f); it != kFormats.end()) {
        body = it->second;
      } else {
        return Bad(At(where, "format"), "format '" + f + "' is not supported (date, time, date-time, uuid)");
      }
      return Define(hint, "\"\\\"\" " + body + " \"\\\"\"");
    }
    if (!lengths) return std::string("json-string");
    int64_t mn = 0, mx = -1;
    R1_RETURN_IF_ERROR(Range(s, "minLength", "maxLength", where, &mn, &mx));
    return Define(hint, fmt::format("\"\\\"\" json-char{{{},{}}} \"\\\"\"", mn, mx < 0 ? "" : std::to_string(mx)));
  }

  StatusOr<std::string> Object(const json& s, const std::string& hint, const std::string& where) {
    struct Prop {
      std::string key, expr;
      bool required;
    };
    std::vector<Prop> props;
    std::set<std::string> required;
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array()) return Bad(At(where, "required"), "must be an array of strings");
      for (const json& k : r) {
        if (!k.is_string()) return Bad(At(where, "required"), "must be an array of strings");
        required.insert(k.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      const json& p = s["properties"];
      if (!p.is_object()) return Bad(At(where, "properties"), "must be an object");
      for (const auto& [key, sub] : p.items()) {
        auto e = Visit(sub, hint + "-" + key, At(At(where, "properties"), key));
        if (!e.ok()) return e.status();
        props.push_back({key, e.value(), required.count(key) > 0});
      }
    }
    for (const std::string& r : required) {
      bool found = false;
      for (const Prop& p : props) found |= p.key == r;
      if (!found) return Bad(At(where, "required"), "'" + r + "' is not in properties");
    }
    std::string extra;  // the value expression of additional properties; "" for none
    if (!s.contains("additionalProperties") || s["additionalProperties"].is_null()) {
      extra = "json-value";
    } else {
      const json& a = s["additionalProperties"];
      if (a.is_boolean()) {
        extra = a.get<bool>() ? "json-value" : "";
      } else {
        auto e = Visit(a, hint + "-additional", At(where, "additionalProperties"));
        if (!e.ok()) return e.status();
        extra = e.value();
      }
    }
    // rest(i, first): properties i.. given that nothing (first) or something came before.
    std::map<std::pair<size_t, bool>, std::string> memo;
    std::function<std::string(size_t, bool)> rest = [&](size_t i, bool first) -> std::string {
      if (auto it = memo.find({i, first}); it != memo.end()) return it->second;
      std::string body;
      if (i == props.size()) {
        if (extra.empty()) return memo[{i, first}] = "";
        const std::string kv = KeyNotIn(props, hint) + " ws \":\" ws " + extra + " ws";
        body = first ? "( " + kv + " ( \",\" ws " + kv + " )* )?" : "( \",\" ws " + kv + " )*";
      } else {
        const std::string kv = std::string(first ? "" : "\",\" ws ") + GbnfLiteral(Dump(json(props[i].key))) +
                               " ws \":\" ws " + props[i].expr + " ws";
        const std::string after = rest(i + 1, false);
        if (props[i].required) {
          body = kv + (after.empty() ? "" : " " + after);
        } else {
          const std::string skip = rest(i + 1, first);
          body = "( " + kv + (after.empty() ? "" : " " + after) + " | " + (skip.empty() ? "\"\"" : skip) + " )";
        }
      }
      return memo[{i, first}] = Define(hint + "-" + std::to_string(i) + (first ? "-f" : ""), body);
    };
    const std::string inner = rest(0, true);
    return Define(hint, "\"{\" ws " + (inner.empty() ? "" : inner + " ") + "\"}\"");
  }

  // A JSON string that is none of the declared keys (an additional property
  // must not be one of them): a trie of the keys by code point, where a
  // character off the trie frees the rest of the string. (A key written with
  // escapes, such as "\u0061", is not recognised as declared.)
  template <typename Prop>
  std::string KeyNotIn(const std::vector<Prop>& props, const std::string& hint) {
    if (props.empty()) return "json-string";
    struct Node {
      std::map<uint32_t, int> kids;
      bool key = false;
    };
    std::vector<Node> trie(1);
    for (const Prop& p : props) {
      int at = 0;
      const std::string& k = p.key;
      for (size_t i = 0; i < k.size();) {
        uint32_t cp = 0xFFFD;  // a key's bytes that are not UTF-8 (JSON parsing leaves none)
        if (!NextCodePoint(k, &i, &cp)) ++i;
        auto it = trie[static_cast<size_t>(at)].kids.find(cp);
        if (it == trie[static_cast<size_t>(at)].kids.end()) {
          trie.emplace_back();
          it = trie[static_cast<size_t>(at)].kids.emplace(cp, static_cast<int>(trie.size() - 1)).first;
        }
        at = it->second;
      }
      trie[static_cast<size_t>(at)].key = true;
    }
    const std::string base = NewRule(hint + "-otherkey");
    const std::string free = base + "-free";
    rules_[free] = "json-char* \"\\\"\"";
    std::vector<std::string> names(trie.size());
    for (size_t i = 0; i < trie.size(); ++i) names[i] = base + "-" + std::to_string(i);
    for (size_t i = 0; i < trie.size(); ++i) {
      std::string body, exclude;
      for (const auto& [cp, kid] : trie[i].kids) {
        std::string ch;
        tok::AppendUtf8(cp, &ch);
        body += (body.empty() ? "" : " | ") + GbnfLiteral(ch) + " " + names[static_cast<size_t>(kid)];
        exclude += cp < 0x80 && std::isalnum(static_cast<int>(cp)) ? std::string(1, static_cast<char>(cp))
                                                                     : fmt::format("\\U{:08X}", cp);
      }
      body += " | [^\"\\\\\\x00-\\x1F" + exclude + "] " + free + " | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} ) " + free;
      if (!trie[i].key) body += " | \"\\\"\"";
      if (body.rfind(" | ", 0) == 0) body = body.substr(3);  // a leaf: no child alternatives before
      rules_[names[i]] = body;
    }
    rules_[base] = "\"\\\"\" " + names[0];
    return base;
  }

  StatusOr<std::string> Array(const json& s, const std::string& hint, const std::string& where) {
    int64_t mn = 0, mx = -1;
    R1_RETURN_IF_ERROR(Range(s, "minItems", "maxItems", where, &mn, &mx));
    std::vector<std::string> prefix;
    if (s.contains("prefixItems")) {
      const json& p = s["prefixItems"];
      if (!p.is_array()) return Bad(At(where, "prefixItems"), "must be an array of schemas");
      for (size_t k = 0; k < p.size(); ++k) {
        auto e = Visit(p[k], hint + "-" + std::to_string(k), At(where, "prefixItems") + "[" + std::to_string(k) + "]");
        if (!e.ok()) return e.status();
        prefix.push_back(e.value());
      }
    }
    std::string item = "json-value";  // "" for no further items (items: false)
    if (s.contains("items")) {
      if (s["items"].is_boolean() && !s["items"].get<bool>()) {
        item = "";
      } else {
        auto e = Visit(s["items"], hint + "-item", At(where, "items"));
        if (!e.ok()) return e.status();
        item = e.value();
      }
    }
    if (!prefix.empty()) {
      if (s.contains("minItems") || s.contains("maxItems"))
        return Bad(At(where, "prefixItems"), "prefixItems together with minItems or maxItems is not supported");
      std::string body = "\"[\" ws ";
      for (size_t k = 0; k < prefix.size(); ++k) body += (k ? "\",\" ws " : "") + prefix[k] + " ws ";
      if (!item.empty()) body += "( \",\" ws " + item + " ws )* ";
      return Define(hint, body + "\"]\"");
    }
    if (item.empty()) mx = 0;
    if (mx == 0) return Define(hint, "\"[\" ws \"]\"");
    const std::string more = "( \",\" ws " + item + " ws )";
    std::string body;
    if (mn == 0) {
      body = "\"[\" ws ( " + item + " ws " + more + (mx < 0 ? "*" : "{0," + std::to_string(mx - 1) + "}") + " )? \"]\"";
    } else {
      body = "\"[\" ws " + item + " ws " + more + "{" + std::to_string(mn - 1) + "," +
             (mx < 0 ? "" : std::to_string(mx - 1)) + "} \"]\"";
    }
    return Define(hint, body);
  }

  const json& root_;
  std::string prefix_;
  std::map<std::string, std::string> rules_;
  std::set<std::string> reserved_;
  std::map<std::string, std::string> refs_;
  int depth_ = 0;
};

}  // namespace

StatusOr<std::string> JsonSchemaRules(const json& schema, const std::string& prefix) {
  return Compiler(schema, prefix).Run();
}

std::string JsonPrimitivesGbnf() { return kPrimitives; }

StatusOr<std::string> JsonSchemaToGbnf(const json& schema) {
  auto rules = JsonSchemaRules(schema, "s-");
  if (!rules.ok()) return rules.status();
  return "root ::= lead s-root ws\n" + rules.value() + kPrimitives;
}

std::string JsonObjectGbnf() { return std::string("root ::= lead json-object ws\n") + kPrimitives; }

}  // namespace r1::grammar
