// NativeObject: one BPF object file, opened, configured (read-only globals, map sizes, autoload),
// loaded, attached, and closed. It owns every link and ring buffer made from it, so close() (or
// Node's environment teardown) detaches all of them. Everything is fd-based: if the process is
// killed, the kernel closes the fds and detaches the programs on its own.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "link.h"

namespace bpfcol {

struct RingState;

class NativeObject : public Napi::ObjectWrap<NativeObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeObject(const Napi::CallbackInfo &info);
  ~NativeObject() override;

  void CloseAll();  // also called at environment teardown

 private:
  // object.cc
  Napi::Value RodataVariables(const Napi::CallbackInfo &info);
  Napi::Value SetRodata(const Napi::CallbackInfo &info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo &info);
  Napi::Value SetAutoload(const Napi::CallbackInfo &info);
  Napi::Value Load(const Napi::CallbackInfo &info);
  Napi::Value Programs(const Napi::CallbackInfo &info);
  Napi::Value Maps(const Napi::CallbackInfo &info);
  Napi::Value StructLayout(const Napi::CallbackInfo &info);
  Napi::Value Close(const Napi::CallbackInfo &info);
  // attach.cc
  Napi::Value AttachTracepoint(const Napi::CallbackInfo &info);
  Napi::Value AttachRawTracepoint(const Napi::CallbackInfo &info);
  Napi::Value AttachPerfEvent(const Napi::CallbackInfo &info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo &info);
  Napi::Value AttachUsdt(const Napi::CallbackInfo &info);
  // maps.cc
  Napi::Value MapLookup(const Napi::CallbackInfo &info);
  Napi::Value MapUpdate(const Napi::CallbackInfo &info);
  Napi::Value MapDelete(const Napi::CallbackInfo &info);
  Napi::Value MapKeys(const Napi::CallbackInfo &info);
  Napi::Value MapEntries(const Napi::CallbackInfo &info);
  Napi::Value MapLookupAndDeleteAll(const Napi::CallbackInfo &info);
  // ringbuf.cc
  Napi::Value OpenRingBuffer(const Napi::CallbackInfo &info);

  void RequireOpen(Napi::Env env) const;
  void RequireLoaded(Napi::Env env) const;
  void RequireNotLoaded(Napi::Env env, const char *what) const;
  bpf_program *FindProgram(Napi::Env env, const Napi::Value &name) const;
  bpf_map *FindMap(Napi::Env env, const Napi::Value &name) const;
  Napi::Value AddLink(Napi::Env env, std::shared_ptr<LinkSet> set);

  std::string path_;
  bpf_object *obj_ = nullptr;
  bool loaded_ = false;
  bool pinned_ = false;  // a loaded object keeps its JS wrapper alive until close()
  AddonData *data_ = nullptr;
  friend struct AddonData;
  std::vector<std::shared_ptr<LinkSet>> links_;
  std::vector<std::shared_ptr<RingState>> rings_;
  friend struct RingState;
};

// Size in bytes of one lookup value: per-CPU maps hold round_up(value_size, 8) per possible CPU.
size_t map_value_bytes(const bpf_map *map);
bool map_is_per_cpu(enum bpf_map_type type);

}  // namespace bpfcol
