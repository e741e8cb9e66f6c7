#include "portal/portal_templates.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sg::portal {
namespace {

constexpr std::string_view kSuffix = ".mustache";

bool IsText(const std::string& name) {
  return name.ends_with(".txt") || name.ends_with(".subject");
}

Status CheckTemplate(const std::string& name, const std::string& source, const std::string& where) {
  mustache::mustache tmpl(source);
  if (!tmpl.is_valid()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "portal template " + where + name + ": " + tmpl.error_message());
  }
  return OkStatus();
}

Status MergeStrings(const std::string& json_text, const std::string& where,
                    std::map<std::string, std::string>& into) {
  auto json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "portal strings " + where + ": not a JSON object of strings");
  }
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "portal strings " + where + ": \"" + key + "\" is not a string");
    }
    into[key] = value.get<std::string>();
  }
  return OkStatus();
}

Result<std::string> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, "cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<std::string>& Templates::Languages() {
  static const std::vector<std::string> k = {"en", "de"};
  return k;
}

Result<std::unique_ptr<Templates>> Templates::Load(const PortalConfig& config) {
  auto t = std::make_unique<Templates>();
  for (const auto& [path, source] : BuiltinTemplates()) {
    if (path.ends_with(kSuffix)) {
      std::string name = path.substr(0, path.size() - kSuffix.size());
      SG_RETURN_IF_ERROR(CheckTemplate(name, std::string(source), "(built-in) "));
      t->builtin_.templates[name] = std::string(source);
    } else if (path.starts_with("strings/") && path.ends_with(".json")) {
      std::string lang = path.substr(8, path.size() - 8 - 5);
      SG_RETURN_IF_ERROR(MergeStrings(std::string(source), path, t->builtin_.strings[lang]));
    } else {
      t->builtin_.templates[path] = std::string(source);  // static files
    }
  }
  for (const auto& d : config.domains) {
    if (d.templates_dir.empty()) continue;
    Set set = t->builtin_;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(d.templates_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string rel = std::filesystem::relative(it->path(), d.templates_dir).string();
      SG_ASSIGN_OR_RETURN(std::string text, ReadFile(it->path()));
      if (rel.ends_with(kSuffix)) {
        std::string name = rel.substr(0, rel.size() - kSuffix.size());
        SG_RETURN_IF_ERROR(CheckTemplate(name, text, d.templates_dir + "/"));
        set.templates[name] = text;
      } else if (rel.starts_with("strings/") && rel.ends_with(".json")) {
        std::string lang = rel.substr(8, rel.size() - 8 - 5);
        SG_RETURN_IF_ERROR(MergeStrings(text, it->path().string(), set.strings[lang]));
      }
    }
    if (ec) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "portal.domains " + d.domain + " templates " + d.templates_dir + ": " +
                           ec.message());
    }
    t->domains_[d.domain] = std::move(set);
  }
  auto build = [](Set& set) {
    for (const auto& [lang, strings] : set.strings) {
      mustache::data obj{mustache::data::type::object};
      for (const auto& [key, value] : strings) obj.set(key, value);
      set.strings_data.erase(lang);
      set.strings_data.emplace(lang, obj);
    }
  };
  build(t->builtin_);
  for (auto& [name, set] : t->domains_) build(set);
  return t;
}

const Templates::Set& Templates::For(const std::string& domain) const {
  auto it = domains_.find(domain);
  return it == domains_.end() ? builtin_ : it->second;
}

Result<std::string> Templates::Render(const std::string& domain, const std::string& name,
                                      const mustache::data& data) const {
  const Set& set = For(domain);
  auto it = set.templates.find(name);
  if (it == set.templates.end()) {
    return MakeError(ErrorCode::kNotFound, "portal template " + name + " does not exist");
  }
  mustache::mustache tmpl(it->second);
  if (IsText(name)) tmpl.set_custom_escape([](const std::string& s) { return s; });
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) {
    return MakeError(ErrorCode::kInternal, "portal template " + name + ": " + tmpl.error_message());
  }
  return out;
}

const mustache::data& Templates::Strings(const std::string& domain, const std::string& lang) const {
  const Set& set = For(domain);
  auto it = set.strings_data.find(lang);
  if (it == set.strings_data.end()) it = set.strings_data.find("en");
  static const mustache::data kEmpty{mustache::data::type::object};
  return it == set.strings_data.end() ? kEmpty : it->second;
}

std::string Templates::String(const std::string& domain, const std::string& lang,
                              const std::string& key) const {
  const Set& set = For(domain);
  for (const std::string& l : {lang, std::string("en")}) {
    auto s = set.strings.find(l);
    if (s == set.strings.end()) continue;
    auto v = s->second.find(key);
    if (v != s->second.end()) return v->second;
  }
  return key;
}

Result<std::string> Templates::File(const std::string& name) const {
  auto it = builtin_.templates.find(name);
  if (it == builtin_.templates.end()) {
    return MakeError(ErrorCode::kNotFound, "portal file " + name + " does not exist");
  }
  return it->second;
}

}  // namespace sg::portal
