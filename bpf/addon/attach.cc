// Attach methods of NativeObject. Each returns a NativeLink; the object also keeps the links so
// close() detaches them. All attachments are fd-based (bpf_link or perf_event fds, opened with
// O_CLOEXEC so child processes do not inherit them): when the process dies, they detach.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common.h"
#include "object.h"

namespace bpfcol {

namespace {

std::string str_arg(Napi::Env env, const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) throw_error(env, std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

int64_t int_arg(Napi::Env env, const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() > i && info[i].IsNumber()) return info[i].As<Napi::Number>().Int64Value();
  if (info.Length() > i && info[i].IsBigInt()) {
    bool lossless = true;
    return info[i].As<Napi::BigInt>().Int64Value(&lossless);
  }
  throw_error(env, std::string(what) + " must be a number or bigint");
}

uint64_t u64_arg(Napi::Env env, const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() > i && info[i].IsBigInt()) {
    bool lossless = true;
    return info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (info.Length() > i && info[i].IsNumber()) return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
  throw_error(env, std::string(what) + " must be a number or bigint");
}

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

// attachTracepoint(program, category, name)
Napi::Value NativeObject::AttachTracepoint(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_program *p = FindProgram(env, info[0]);
  std::string cat = str_arg(env, info, 1, "tracepoint category");
  std::string name = str_arg(env, info, 2, "tracepoint name");
  std::string events = ensure_tracefs(env);
  std::string id_path = events + "/" + cat + "/" + name + "/id";
  if (access(id_path.c_str(), F_OK) != 0)
    throw_errno(env, "tracepoint " + cat + ":" + name + " does not exist in this kernel (no " + id_path + ")",
                ENOENT, false);
  log_reset();
  bpf_link *l = bpf_program__attach_tracepoint(p, cat.c_str(), name.c_str());
  if (l == nullptr)
    throw_errno(env, "attaching program '" + std::string(bpf_program__name(p)) + "' to tracepoint " + cat + ":" +
                         name + " failed",
                last_errno());
  auto set = std::make_shared<LinkSet>();
  set->description = "tracepoint " + cat + ":" + name;
  set->links.push_back(l);
  return AddLink(env, set);
}

// attachRawTracepoint(program, name)
Napi::Value NativeObject::AttachRawTracepoint(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_program *p = FindProgram(env, info[0]);
  std::string name = str_arg(env, info, 1, "raw tracepoint name");
  log_reset();
  bpf_link *l = bpf_program__attach_raw_tracepoint(p, name.c_str());
  if (l == nullptr)
    throw_errno(env,
                "attaching program '" + std::string(bpf_program__name(p)) + "' to raw tracepoint " + name + " failed",
                last_errno());
  auto set = std::make_shared<LinkSet>();
  set->description = "raw_tracepoint " + name;
  set->links.push_back(l);
  return AddLink(env, set);
}

// attachPerfEvent(program, type, config, sampleValue, isFrequency, cpus: number[], pid = -1)
// Opens one perf event per CPU (disabled; libbpf enables it once the program is attached).
Napi::Value NativeObject::AttachPerfEvent(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_program *p = FindProgram(env, info[0]);
  uint32_t type = static_cast<uint32_t>(int_arg(env, info, 1, "perf event type"));
  uint64_t config = u64_arg(env, info, 2, "perf event config");
  uint64_t sample = u64_arg(env, info, 3, "sample frequency/period");
  bool is_freq = info.Length() > 4 && info[4].ToBoolean().Value();
  if (info.Length() < 6 || !info[5].IsArray()) throw_error(env, "attachPerfEvent: cpus must be an array");
  Napi::Array cpus = info[5].As<Napi::Array>();
  int pid = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Int32Value() : -1;
  if (sample == 0) throw_error(env, "attachPerfEvent: frequency or period must be > 0");

  auto set = std::make_shared<LinkSet>();
  set->description = "perf_event type=" + std::to_string(type) + " config=" + std::to_string(config);
  log_reset();
  for (uint32_t i = 0; i < cpus.Length(); i++) {
    int cpu = cpus.Get(i).As<Napi::Number>().Int32Value();
    struct perf_event_attr attr = {};
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    if (is_freq) {
      attr.freq = 1;
      attr.sample_freq = sample;
    } else {
      attr.sample_period = sample;
    }
    attr.disabled = 1;
    int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (pfd < 0) {
      int err = last_errno();
      set->destroy();
      throw_errno(env,
                  "perf_event_open(type=" + std::to_string(type) + ", config=" + std::to_string(config) +
                      ", cpu=" + std::to_string(cpu) + ") failed",
                  err, false);
    }
    bpf_link *l = bpf_program__attach_perf_event(p, pfd);
    if (l == nullptr) {
      int err = last_errno();
      close(pfd);
      set->destroy();
      throw_errno(env,
                  "attaching program '" + std::string(bpf_program__name(p)) + "' to a perf event on cpu " +
                      std::to_string(cpu) + " failed",
                  err);
    }
    set->links.push_back(l);  // the link owns pfd from here on
  }
  return AddLink(env, set);
}

// attachUprobe(program, binaryPath, symbol: string | null, offset, pid, retprobe)
// With a symbol, offset is relative to it; without, it is a file offset in the binary.
Napi::Value NativeObject::AttachUprobe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_program *p = FindProgram(env, info[0]);
  std::string binary = str_arg(env, info, 1, "uprobe binary path");
  std::string symbol;
  bool has_symbol = info.Length() > 2 && info[2].IsString();
  if (has_symbol) symbol = info[2].As<Napi::String>().Utf8Value();
  uint64_t offset = info.Length() > 3 && !info[3].IsUndefined() ? u64_arg(env, info, 3, "uprobe offset") : 0;
  int pid = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : -1;
  bool retprobe = info.Length() > 5 && info[5].ToBoolean().Value();

  LIBBPF_OPTS(bpf_uprobe_opts, opts);
  opts.retprobe = retprobe;
  opts.func_name = has_symbol ? symbol.c_str() : nullptr;
  log_reset();
  bpf_link *l = bpf_program__attach_uprobe_opts(p, pid, binary.c_str(), offset, &opts);
  if (l == nullptr)
    throw_errno(env,
                "attaching program '" + std::string(bpf_program__name(p)) + "' as " +
                    (retprobe ? "uretprobe" : "uprobe") + " to " + binary + ":" +
                    (has_symbol ? symbol : hex(offset)) + " failed",
                last_errno());
  auto set = std::make_shared<LinkSet>();
  set->description = std::string(retprobe ? "uretprobe " : "uprobe ") + binary + ":" + symbol;
  set->links.push_back(l);
  return AddLink(env, set);
}

// attachUsdt(program, binaryPath, pid, provider, name, cookie)
Napi::Value NativeObject::AttachUsdt(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_program *p = FindProgram(env, info[0]);
  std::string binary = str_arg(env, info, 1, "USDT binary path");
  int pid = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
  std::string provider = str_arg(env, info, 3, "USDT provider");
  std::string name = str_arg(env, info, 4, "USDT name");
  uint64_t cookie = info.Length() > 5 && !info[5].IsUndefined() ? u64_arg(env, info, 5, "USDT cookie") : 0;

  LIBBPF_OPTS(bpf_usdt_opts, opts);
  opts.usdt_cookie = cookie;
  log_reset();
  bpf_link *l = bpf_program__attach_usdt(p, pid, binary.c_str(), provider.c_str(), name.c_str(), &opts);
  if (l == nullptr)
    throw_errno(env,
                "attaching program '" + std::string(bpf_program__name(p)) + "' to USDT " + provider + ":" + name +
                    " in " + binary + " failed",
                last_errno());
  auto set = std::make_shared<LinkSet>();
  set->description = "usdt " + binary + ":" + provider + ":" + name;
  set->links.push_back(l);
  return AddLink(env, set);
}

}  // namespace bpfcol
