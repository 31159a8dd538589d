// Shared pieces of the generic libbpf addon: libbpf log capture, error construction and the
// per-environment registry that closes every open object when Node tears the environment down.
#pragma once

#include <napi.h>

#include <set>
#include <string>

namespace bpfcol {

class NativeObject;

// libbpf prints warnings (including the verifier log of a program that failed to load) through a
// callback; they are captured and appended to the error of the operation that failed.
void install_libbpf_logger();
void log_reset();
std::string log_tail(size_t max_bytes = 12000);

// Throws a JavaScript Error carrying `errno` (number) and `code` (e.g. "ENOENT").
// err is a positive errno value. The captured libbpf log is appended when with_log is true.
[[noreturn]] void throw_errno(Napi::Env env, const std::string &what, int err, bool with_log = true);
[[noreturn]] void throw_error(Napi::Env env, const std::string &message);
std::string errno_name(int err);

// libbpf 1.x returns NULL / negative values and sets errno; this turns that into a positive errno.
int last_errno(int fallback = EINVAL);

struct AddonData {
  ~AddonData();
  std::set<NativeObject *> objects;
  Napi::FunctionReference object_ctor;
  Napi::FunctionReference link_ctor;
  Napi::FunctionReference ring_ctor;
};

AddonData &addon_data(Napi::Env env);

// Module parts register their exports through these.
void init_object(Napi::Env env, Napi::Object exports);
void init_link(Napi::Env env, Napi::Object exports);
void init_ringbuf(Napi::Env env, Napi::Object exports);
void init_kernel(Napi::Env env, Napi::Object exports);

// tracefs: libbpf resolves tracepoint ids through it. Returns the events directory in use, mounting
// tracefs at /sys/kernel/tracing when nothing is mounted; throws with the fix when it cannot.
std::string ensure_tracefs(Napi::Env env, bool *mounted_now = nullptr);

}  // namespace bpfcol
