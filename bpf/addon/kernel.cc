// Module-level functions: tracefs, kernel BTF enums, CPU count, feature probes.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "common.h"

namespace bpfcol {

namespace {

constexpr const char *kTracefs = "/sys/kernel/tracing";
// libbpf 1.1 resolves tracepoint ids under debugfs whenever this path exists, else under tracefs.
constexpr const char *kDebugTracing = "/sys/kernel/debug/tracing";

bool exists(const std::string &p) { return access(p.c_str(), F_OK) == 0; }

std::string tracing_dir_in_use() { return exists(kDebugTracing) ? kDebugTracing : kTracefs; }

}  // namespace

std::string ensure_tracefs(Napi::Env env, bool *mounted_now) {
  if (mounted_now != nullptr) *mounted_now = false;
  std::string dir = tracing_dir_in_use();
  if (exists(dir + "/events")) return dir + "/events";
  if (dir == kDebugTracing)
    throw_errno(env,
                std::string("tracefs is not reachable at ") + kDebugTracing +
                    "/events (debugfs is mounted but tracing is not): run as root: mount -t tracefs nodev " +
                    kDebugTracing,
                ENOENT, false);
  if (!exists(kTracefs))
    throw_errno(env,
                std::string("this kernel has no tracefs mount point ") + kTracefs +
                    " (built without CONFIG_TRACING?): tracepoints cannot be attached",
                ENOENT, false);
  if (mount("tracefs", kTracefs, "tracefs", 0, nullptr) != 0) {
    int err = errno;
    throw_errno(env,
                std::string("tracefs is not mounted at ") + kTracefs + " and mounting it failed" +
                    " (bpfcol needs it to attach tracepoints); run as root: mount -t tracefs nodev " + kTracefs,
                err, false);
  }
  if (mounted_now != nullptr) *mounted_now = true;
  if (!exists(std::string(kTracefs) + "/events"))
    throw_errno(env, std::string("tracefs mounted at ") + kTracefs + " has no events/ directory", ENOENT, false);
  return std::string(kTracefs) + "/events";
}

namespace {

// ensureTracefs() -> { eventsDir, mountedNow }
Napi::Value EnsureTracefs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bool mounted_now = false;
  std::string dir = ensure_tracefs(env, &mounted_now);
  Napi::Object o = Napi::Object::New(env);
  o.Set("eventsDir", dir);
  o.Set("mountedNow", mounted_now);
  return o;
}

// tracefsStatus() -> { eventsDir, mounted }: no side effect.
Napi::Value TracefsStatus(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string dir = tracing_dir_in_use();
  Napi::Object o = Napi::Object::New(env);
  o.Set("eventsDir", dir + "/events");
  o.Set("mounted", exists(dir + "/events"));
  o.Set("mountPointExists", exists(dir));
  return o;
}

// kernelEnum(name) -> [[name, value], ...] from /sys/kernel/btf/vmlinux, or null if the kernel
// has no such enum. Values beyond 2^53 come back as bigint.
Napi::Value KernelEnum(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_error(env, "kernelEnum(name: string)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  log_reset();
  struct btf *btf = btf__load_vmlinux_btf();
  if (btf == nullptr) throw_errno(env, "reading the kernel's BTF (/sys/kernel/btf/vmlinux) failed", last_errno());
  __s32 id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM);
  if (id < 0) id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM64);
  if (id < 0) {
    btf__free(btf);
    return env.Null();
  }
  const struct btf_type *t = btf__type_by_id(btf, id);
  Napi::Array out = Napi::Array::New(env);
  unsigned n = btf_vlen(t);
  bool is_signed = btf_kflag(t);
  for (unsigned i = 0; i < n; i++) {
    Napi::Array pair = Napi::Array::New(env, 2);
    if (btf_is_enum(t)) {
      const struct btf_enum *e = btf_enum(t) + i;
      pair.Set(0u, btf__name_by_offset(btf, e->name_off));
      double v = is_signed ? static_cast<double>(static_cast<int32_t>(e->val)) : static_cast<double>(static_cast<uint32_t>(e->val));
      pair.Set(1u, Napi::Number::New(env, v));
    } else {
      const struct btf_enum64 *e = btf_enum64(t) + i;
      pair.Set(0u, btf__name_by_offset(btf, e->name_off));
      uint64_t v = btf_enum64_value(e);
      if (is_signed) {
        int64_t sv = static_cast<int64_t>(v);
        if (std::llabs(sv) < (1LL << 53)) pair.Set(1u, Napi::Number::New(env, static_cast<double>(sv)));
        else pair.Set(1u, Napi::BigInt::New(env, sv));
      } else if (v < (1ULL << 53)) {
        pair.Set(1u, Napi::Number::New(env, static_cast<double>(v)));
      } else {
        pair.Set(1u, Napi::BigInt::New(env, v));
      }
    }
    out.Set(i, pair);
  }
  btf__free(btf);
  return out;
}

Napi::Value PossibleCpus(const Napi::CallbackInfo &info) {
  int n = libbpf_num_possible_cpus();
  if (n <= 0) throw_errno(info.Env(), "counting possible CPUs failed", n < 0 ? -n : EINVAL, false);
  return Napi::Number::New(info.Env(), n);
}

// probeMapType(type) -> null when the kernel can create such a map, else the reason.
Napi::Value ProbeMapType(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int type = info[0].As<Napi::Number>().Int32Value();
  int r = libbpf_probe_bpf_map_type(static_cast<enum bpf_map_type>(type), nullptr);
  if (r == 1) return env.Null();
  if (r == 0) return Napi::String::New(env, "not supported by this kernel");
  int err = -r;
  return Napi::String::New(env, std::string(strerror(err)) + " (" + errno_name(err) + ")");
}

// probePerfEvent(type, config) -> null when a sampling perf event can be opened on CPU 0.
Napi::Value ProbePerfEvent(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  struct perf_event_attr attr = {};
  attr.size = sizeof(attr);
  attr.type = info[0].As<Napi::Number>().Uint32Value();
  attr.config = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  attr.freq = 1;
  attr.sample_freq = 1;
  attr.disabled = 1;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd >= 0) {
    close(fd);
    return env.Null();
  }
  int err = errno;
  return Napi::String::New(env, std::string(strerror(err)) + " (" + errno_name(err) + ")");
}

Napi::Value LibbpfVersion(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(),
                           std::to_string(LIBBPF_MAJOR_VERSION) + "." + std::to_string(LIBBPF_MINOR_VERSION));
}

}  // namespace

void init_kernel(Napi::Env env, Napi::Object exports) {
  exports.Set("ensureTracefs", Napi::Function::New<EnsureTracefs>(env, "ensureTracefs"));
  exports.Set("tracefsStatus", Napi::Function::New<TracefsStatus>(env, "tracefsStatus"));
  exports.Set("kernelEnum", Napi::Function::New<KernelEnum>(env, "kernelEnum"));
  exports.Set("possibleCpus", Napi::Function::New<PossibleCpus>(env, "possibleCpus"));
  exports.Set("probeMapType", Napi::Function::New<ProbeMapType>(env, "probeMapType"));
  exports.Set("probePerfEvent", Napi::Function::New<ProbePerfEvent>(env, "probePerfEvent"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
}

}  // namespace bpfcol
