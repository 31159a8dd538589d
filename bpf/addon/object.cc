#include "object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cstring>

#include "common.h"
#include "ringbuf.h"

namespace bpfcol {

namespace {
constexpr const char *kVmlinuxBtf = "/sys/kernel/btf/vmlinux";
}  // namespace

bool map_is_per_cpu(enum bpf_map_type type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

size_t map_value_bytes(const bpf_map *map) {
  size_t vs = bpf_map__value_size(map);
  if (!map_is_per_cpu(bpf_map__type(map))) return vs;
  int ncpu = libbpf_num_possible_cpus();
  return ((vs + 7) / 8 * 8) * static_cast<size_t>(ncpu > 0 ? ncpu : 1);
}

Napi::Function NativeObject::Define(Napi::Env env) {
  return DefineClass(env, "NativeObject",
                     {
                         InstanceMethod<&NativeObject::RodataVariables>("rodataVariables"),
                         InstanceMethod<&NativeObject::SetRodata>("setRodata"),
                         InstanceMethod<&NativeObject::SetMaxEntries>("setMaxEntries"),
                         InstanceMethod<&NativeObject::SetAutoload>("setAutoload"),
                         InstanceMethod<&NativeObject::Load>("load"),
                         InstanceMethod<&NativeObject::Programs>("programs"),
                         InstanceMethod<&NativeObject::Maps>("maps"),
                         InstanceMethod<&NativeObject::StructLayout>("structLayout"),
                         InstanceMethod<&NativeObject::Close>("close"),
                         InstanceMethod<&NativeObject::AttachTracepoint>("attachTracepoint"),
                         InstanceMethod<&NativeObject::AttachRawTracepoint>("attachRawTracepoint"),
                         InstanceMethod<&NativeObject::AttachPerfEvent>("attachPerfEvent"),
                         InstanceMethod<&NativeObject::AttachUprobe>("attachUprobe"),
                         InstanceMethod<&NativeObject::AttachUsdt>("attachUsdt"),
                         InstanceMethod<&NativeObject::MapLookup>("mapLookup"),
                         InstanceMethod<&NativeObject::MapUpdate>("mapUpdate"),
                         InstanceMethod<&NativeObject::MapDelete>("mapDelete"),
                         InstanceMethod<&NativeObject::MapKeys>("mapKeys"),
                         InstanceMethod<&NativeObject::MapEntries>("mapEntries"),
                         InstanceMethod<&NativeObject::MapLookupAndDeleteAll>("mapLookupAndDeleteAll"),
                         InstanceMethod<&NativeObject::OpenRingBuffer>("openRingBuffer"),
                     });
}

NativeObject::NativeObject(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeObject>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw_error(env, "NativeObject(path): path must be a string");
  path_ = info[0].As<Napi::String>().Utf8Value();
  log_reset();
  // CO-RE types come from vmlinux's BTF named as a custom path: libbpf (1.1) then never searches
  // kernel modules' BTF for a type vmlinux lacks, which lists BTF ids (BPF_BTF_GET_NEXT_ID) and so
  // needs CAP_SYS_ADMIN. bpfcol's programs use vmlinux types only.
  LIBBPF_OPTS(bpf_object_open_opts, opts);
  if (access(kVmlinuxBtf, R_OK) == 0) opts.btf_custom_path = kVmlinuxBtf;
  obj_ = bpf_object__open_file(path_.c_str(), &opts);
  if (obj_ == nullptr) {
    int err = last_errno();
    obj_ = nullptr;
    throw_errno(env, "opening BPF object " + path_ + " failed", err);
  }
  data_ = &addon_data(env);
  data_->objects.insert(this);
}

NativeObject::~NativeObject() {
  CloseAll();
  if (data_ != nullptr) data_->objects.erase(this);
}

void NativeObject::CloseAll() {
  for (auto &r : rings_) r->Stop();
  rings_.clear();
  for (auto &l : links_) l->destroy();
  links_.clear();
  if (obj_ != nullptr) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
}

void NativeObject::RequireOpen(Napi::Env env) const {
  if (obj_ == nullptr) throw_error(env, "BPF object " + path_ + " is closed");
}

void NativeObject::RequireLoaded(Napi::Env env) const {
  RequireOpen(env);
  if (!loaded_) throw_error(env, "BPF object " + path_ + " is not loaded yet");
}

void NativeObject::RequireNotLoaded(Napi::Env env, const char *what) const {
  RequireOpen(env);
  if (loaded_) throw_error(env, std::string(what) + " must happen before load (" + path_ + ")");
}

bpf_program *NativeObject::FindProgram(Napi::Env env, const Napi::Value &name) const {
  RequireOpen(env);
  if (!name.IsString()) throw_error(env, "program name must be a string");
  std::string n = name.As<Napi::String>().Utf8Value();
  bpf_program *p = bpf_object__find_program_by_name(obj_, n.c_str());
  if (p == nullptr) {
    std::string known;
    bpf_program *q;
    bpf_object__for_each_program(q, obj_) known += std::string(known.empty() ? "" : ", ") + bpf_program__name(q);
    throw_error(env, "BPF object " + path_ + " has no program '" + n + "' (it has: " + known + ")");
  }
  return p;
}

bpf_map *NativeObject::FindMap(Napi::Env env, const Napi::Value &name) const {
  RequireOpen(env);
  if (!name.IsString()) throw_error(env, "map name must be a string");
  std::string n = name.As<Napi::String>().Utf8Value();
  bpf_map *m = bpf_object__find_map_by_name(obj_, n.c_str());
  if (m == nullptr) {
    std::string known;
    bpf_map *q;
    bpf_object__for_each_map(q, obj_) {
      if (!bpf_map__is_internal(q)) known += std::string(known.empty() ? "" : ", ") + bpf_map__name(q);
    }
    throw_error(env, "BPF object " + path_ + " has no map '" + n + "' (it has: " + known + ")");
  }
  return m;
}

Napi::Value NativeObject::AddLink(Napi::Env env, std::shared_ptr<LinkSet> set) {
  links_.push_back(set);
  return NativeLink::Create(env, std::move(set));
}

namespace {

struct RodataVar {
  bpf_map *map;
  std::string section;
  std::string name;
  uint32_t offset;
  uint32_t size;
};

// Every variable of every .rodata* data section, with its offset and size from the datasec BTF.
std::vector<RodataVar> rodata_vars(bpf_object *obj) {
  std::vector<RodataVar> out;
  const struct btf *btf = bpf_object__btf(obj);
  if (btf == nullptr) return out;
  bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    if (!bpf_map__is_internal(m)) continue;
    __u32 tid = bpf_map__btf_value_type_id(m);
    const struct btf_type *t = tid ? btf__type_by_id(btf, tid) : nullptr;
    if (t == nullptr || !btf_is_datasec(t)) continue;
    const char *sec = btf__name_by_offset(btf, t->name_off);
    if (sec == nullptr || strncmp(sec, ".rodata", 7) != 0) continue;
    const struct btf_var_secinfo *vs = btf_var_secinfos(t);
    for (unsigned i = 0; i < btf_vlen(t); i++, vs++) {
      const struct btf_type *v = btf__type_by_id(btf, vs->type);
      if (v == nullptr || !btf_is_var(v)) continue;
      out.push_back({m, sec, btf__name_by_offset(btf, v->name_off), vs->offset, vs->size});
    }
  }
  return out;
}

}  // namespace

Napi::Value NativeObject::RodataVariables(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const RodataVar &v : rodata_vars(obj_)) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", v.name);
    o.Set("section", v.section);
    o.Set("offset", v.offset);
    o.Set("size", v.size);
    out.Set(i++, o);
  }
  return out;
}

// setRodata(name, bytes): bytes.length must equal the variable's size (the TS side encodes).
Napi::Value NativeObject::SetRodata(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireNotLoaded(env, "setting read-only globals");
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer())
    throw_error(env, "setRodata(name: string, bytes: Buffer)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> bytes = info[1].As<Napi::Buffer<uint8_t>>();
  for (const RodataVar &v : rodata_vars(obj_)) {
    if (v.name != name) continue;
    if (bytes.Length() != v.size)
      throw_error(env, "read-only global '" + name + "' is " + std::to_string(v.size) + " bytes, got " +
                           std::to_string(bytes.Length()));
    size_t size = 0;
    const void *cur = bpf_map__initial_value(v.map, &size);
    if (cur == nullptr || v.offset + v.size > size)
      throw_error(env, "read-only section " + v.section + " of " + path_ + " has no initial data");
    std::vector<uint8_t> data(static_cast<const uint8_t *>(cur), static_cast<const uint8_t *>(cur) + size);
    memcpy(data.data() + v.offset, bytes.Data(), v.size);
    if (bpf_map__set_initial_value(v.map, data.data(), size) != 0)
      throw_errno(env, "setting read-only global '" + name + "' failed", last_errno());
    return env.Undefined();
  }
  std::string known;
  for (const RodataVar &v : rodata_vars(obj_)) known += std::string(known.empty() ? "" : ", ") + v.name;
  throw_error(env, "BPF object " + path_ + " has no read-only global '" + name + "' (const volatile globals: " +
                       (known.empty() ? "none" : known) + ")");
}

Napi::Value NativeObject::SetMaxEntries(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireNotLoaded(env, "resizing maps");
  bpf_map *m = FindMap(env, info[0]);
  if (!info[1].IsNumber()) throw_error(env, "setMaxEntries(map, n): n must be a number");
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  if (bpf_map__set_max_entries(m, n) != 0)
    throw_errno(env, "resizing map '" + std::string(bpf_map__name(m)) + "' failed", last_errno());
  return env.Undefined();
}

Napi::Value NativeObject::SetAutoload(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireNotLoaded(env, "choosing which programs load");
  bpf_program *p = FindProgram(env, info[0]);
  bpf_program__set_autoload(p, info[1].ToBoolean().Value());
  return env.Undefined();
}

Napi::Value NativeObject::Load(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireNotLoaded(env, "load");
  log_reset();
  if (bpf_object__load(obj_) != 0) throw_errno(env, "loading BPF object " + path_ + " failed", last_errno());
  loaded_ = true;
  // Attached programs must not vanish because a JS reference was dropped: only close() (or the
  // environment teardown, or the process dying) detaches them.
  Ref();
  pinned_ = true;
  return env.Undefined();
}

Napi::Value NativeObject::Programs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_program *p;
  bpf_object__for_each_program(p, obj_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("type", static_cast<uint32_t>(bpf_program__type(p)));
    o.Set("autoload", bpf_program__autoload(p));
    uint32_t id = 0;
    int fd = loaded_ ? bpf_program__fd(p) : -1;
    if (fd >= 0) {
      struct bpf_prog_info pi = {};
      __u32 len = sizeof(pi);
      if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0) id = pi.id;
    }
    o.Set("id", id);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value NativeObject::Maps(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_map *m;
  bpf_object__for_each_map(m, obj_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(m));
    o.Set("type", static_cast<uint32_t>(bpf_map__type(m)));
    o.Set("keySize", bpf_map__key_size(m));
    o.Set("valueSize", bpf_map__value_size(m));
    o.Set("maxEntries", bpf_map__max_entries(m));
    o.Set("internal", bpf_map__is_internal(m));
    o.Set("perCpu", map_is_per_cpu(bpf_map__type(m)));
    uint32_t id = 0;
    int fd = loaded_ ? bpf_map__fd(m) : -1;
    if (fd >= 0) {
      struct bpf_map_info mi = {};
      __u32 len = sizeof(mi);
      if (bpf_obj_get_info_by_fd(fd, &mi, &len) == 0) id = mi.id;
    }
    o.Set("id", id);
    out.Set(i++, o);
  }
  return out;
}

// The layout the compiler gave a struct, from the object's BTF: lets TypeScript layouts be checked
// against the C header they mirror. Returns null when the struct is not in the object's BTF.
Napi::Value NativeObject::StructLayout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireOpen(env);
  if (!info[0].IsString()) throw_error(env, "structLayout(name: string)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const struct btf *btf = bpf_object__btf(obj_);
  if (btf == nullptr) return env.Null();
  __s32 id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return env.Null();
  const struct btf_type *t = btf__type_by_id(btf, id);
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", t->size);
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member *mem = btf_members(t);
  for (unsigned i = 0; i < btf_vlen(t); i++, mem++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", btf__name_by_offset(btf, mem->name_off));
    uint32_t bit_off = btf_member_bit_offset(t, i);
    o.Set("offset", bit_off / 8);
    o.Set("bitfieldSize", btf_member_bitfield_size(t, i));
    __s64 size = btf__resolve_size(btf, mem->type);
    o.Set("size", size < 0 ? 0 : static_cast<double>(size));
    members.Set(i, o);
  }
  out.Set("members", members);
  return out;
}

Napi::Value NativeObject::Close(const Napi::CallbackInfo &info) {
  CloseAll();
  if (pinned_) {
    pinned_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

void init_object(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeObject::Define(env);
  addon_data(env).object_ctor = Napi::Persistent(ctor);
  exports.Set("NativeObject", ctor);
}

}  // namespace bpfcol
