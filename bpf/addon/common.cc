#include "common.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bpfcol {

namespace {

std::string g_log;  // libbpf calls back on the thread that called it: always the JS thread here
bool g_echo = false;
bool g_debug = false;
constexpr size_t kLogCap = 256 * 1024;

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !g_debug) return 0;
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string line(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  if (g_echo) fprintf(stderr, "libbpf: %s", line.c_str());
  g_log += line;
  if (g_log.size() > kLogCap) g_log.erase(0, g_log.size() - kLogCap / 2);
  return n;
}

}  // namespace

void install_libbpf_logger() {
  const char *env = getenv("BPFCOL_LIBBPF_LOG");
  g_echo = env != nullptr && env[0] != '\0' && strcmp(env, "0") != 0;
  g_debug = env != nullptr && strcmp(env, "debug") == 0;
  libbpf_set_print(libbpf_print);
}

void log_reset() { g_log.clear(); }

std::string log_tail(size_t max_bytes) {
  if (g_log.size() <= max_bytes) return g_log;
  return "..." + g_log.substr(g_log.size() - max_bytes);
}

std::string errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case 524: return "ENOTSUPP";
    default: return "E" + std::to_string(err);
  }
}

int last_errno(int fallback) {
  int e = errno;
  return e > 0 ? e : fallback;
}

void throw_errno(Napi::Env env, const std::string &what, int err, bool with_log) {
  if (err < 0) err = -err;
  std::string msg = what + ": " + (err == 524 ? "operation not supported by this kernel" : strerror(err)) + " (" +
                    errno_name(err) + ")";
  if (with_log) {
    std::string tail = log_tail();
    if (!tail.empty()) msg += "\nlibbpf log:\n" + tail;
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, errno_name(err)));
  throw e;
}

void throw_error(Napi::Env env, const std::string &message) { throw Napi::Error::New(env, message); }

AddonData &addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace bpfcol
