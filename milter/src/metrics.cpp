// See metrics.hpp.
#include "milter/metrics.hpp"

#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <vector>

namespace milter::metrics {
namespace {

struct Known {
  std::string_view name;
  std::string_view help;
  bool labelled;
};

// Exported even before anything is counted. The histogram is written separately.
constexpr std::array<Known, 7> kFamilies{{
    {"smime_messages_total", "Messages at end of message, by direction and action.", true},
    {"smime_messages_signed_total", "Outbound messages signed.", false},
    {"smime_messages_encrypted_total", "Outbound messages encrypted.", false},
    {"smime_messages_decrypted_total", "Inbound messages decrypted.", false},
    {"smime_verify_total", "Inbound signatures verified, by result.", true},
    {"smime_failures_total", "Failures, by failure class.", true},
    {"smime_revocation_answers_total", "Revocation decisions, by status and source.", true},
}};

constexpr std::string_view kLatency = "smime_eom_duration_seconds";
constexpr std::array<double, 13> kBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

struct Histogram {
  std::array<std::uint64_t, kBuckets.size()> buckets{};  // observations <= bound, each on its own
  std::uint64_t count = 0;
  double sum = 0;
};

std::mutex g_mutex;
std::map<std::string, std::map<std::string, double>, std::less<>> g_counters;  // family -> labels -> value
Histogram g_latency;

// A label value as the text format wants it: backslash, double quote and line feed escaped.
void append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

std::string label_set(std::initializer_list<Label> labels) {
  if (labels.size() == 0) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name);
    out += "=\"";
    append_escaped(out, value);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string number(double v) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf.data(), end);
}

void write_family(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += "# HELP ";
  out.append(name);
  out.push_back(' ');
  out.append(help);
  out += "\n# TYPE ";
  out.append(name);
  out.push_back(' ');
  out.append(type);
  out.push_back('\n');
}

void write_samples(std::string& out, std::string_view name, const std::map<std::string, double>& samples) {
  for (const auto& [labels, v] : samples) {
    out.append(name);
    out += labels;
    out.push_back(' ');
    out += number(v);
    out.push_back('\n');
  }
}

void write_latency(std::string& out) {
  write_family(out, kLatency, "End-of-message processing time in seconds.", "histogram");
  std::uint64_t cumulative = 0;
  const std::string bucket = std::string(kLatency) + "_bucket{le=\"";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += g_latency.buckets[i];
    out += bucket + number(kBuckets[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += bucket + "+Inf\"} " + std::to_string(g_latency.count) + "\n";
  out += std::string(kLatency) + "_sum " + number(g_latency.sum) + "\n";
  out += std::string(kLatency) + "_count " + std::to_string(g_latency.count) + "\n";
}

}  // namespace

void count(std::string_view family, std::initializer_list<Label> labels, double n) {
  std::string key = label_set(labels);
  std::lock_guard lock(g_mutex);
  auto it = g_counters.find(family);
  if (it == g_counters.end())
    it = g_counters.emplace(std::string(family), std::map<std::string, double>{}).first;
  it->second[std::move(key)] += n;
}

void observe_latency(double seconds) {
  std::lock_guard lock(g_mutex);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++g_latency.buckets[i];
      break;
    }
  }
  ++g_latency.count;
  g_latency.sum += seconds;
}

std::string exposition() {
  std::lock_guard lock(g_mutex);
  std::string out;
  for (const Known& k : kFamilies) {
    write_family(out, k.name, k.help, "counter");
    auto it = g_counters.find(k.name);
    if (it != g_counters.end())
      write_samples(out, k.name, it->second);
    else if (!k.labelled)
      out += std::string(k.name) + " 0\n";
  }
  for (const auto& [name, samples] : g_counters) {  // families counted that the table does not know
    bool known = false;
    for (const Known& k : kFamilies) known = known || k.name == name;
    if (known) continue;
    out += "# TYPE " + name + " counter\n";
    write_samples(out, name, samples);
  }
  write_latency(out);
  return out;
}

double value(std::string_view family, std::initializer_list<Label> labels) {
  const std::string key = label_set(labels);
  std::lock_guard lock(g_mutex);
  auto it = g_counters.find(family);
  if (it == g_counters.end()) return 0;
  auto sample = it->second.find(key);
  return sample == it->second.end() ? 0 : sample->second;
}

void reset() {
  std::lock_guard lock(g_mutex);
  g_counters.clear();
  g_latency = Histogram{};
}

}  // namespace milter::metrics
