// Map methods of NativeObject. Bulk reads return every entry in one call as two Buffers (keys and
// values back to back, fixed sizes), so JavaScript never pays one N-API call per entry.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common.h"
#include "object.h"

namespace bpfcol {

namespace {

struct MapRef {
  bpf_map *map;
  int fd;
  std::string name;
  size_t key_size;
  size_t value_bytes;  // per-CPU maps: all CPUs' values
  enum bpf_map_type type;
};

Napi::Buffer<uint8_t> buffer_arg(Napi::Env env, const Napi::CallbackInfo &info, size_t i, size_t expected,
                                 const char *what, const std::string &map) {
  if (info.Length() <= i || !info[i].IsBuffer()) throw_error(env, std::string(what) + " must be a Buffer");
  Napi::Buffer<uint8_t> b = info[i].As<Napi::Buffer<uint8_t>>();
  if (b.Length() != expected)
    throw_error(env, std::string(what) + " for map '" + map + "' must be " + std::to_string(expected) +
                         " bytes, got " + std::to_string(b.Length()));
  return b;
}

Napi::Object bulk_result(Napi::Env env, const std::vector<uint8_t> &keys, const std::vector<uint8_t> &values,
                         size_t count) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", static_cast<double>(count));
  o.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), keys.size()));
  o.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), values.size()));
  return o;
}

bool is_hash(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

bool is_array(enum bpf_map_type t) { return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY; }

// All keys, by get_next_key. Entries deleted meanwhile may make the walk restart from the
// beginning (kernel behaviour for a vanished key); the cap guards against endless churn.
std::vector<uint8_t> all_keys(Napi::Env env, const MapRef &m) {
  std::vector<uint8_t> keys;
  std::vector<uint8_t> cur(m.key_size), next(m.key_size);
  const void *prev = nullptr;
  size_t cap = static_cast<size_t>(bpf_map__max_entries(m.map)) * 4 + 16;
  for (size_t n = 0; n < cap; n++) {
    int err = bpf_map_get_next_key(m.fd, prev, next.data());
    if (err == -ENOENT) break;
    if (err != 0) throw_errno(env, "iterating map '" + m.name + "' failed", -err, false);
    keys.insert(keys.end(), next.begin(), next.end());
    cur.swap(next);
    prev = cur.data();
  }
  return keys;
}

}  // namespace

#define MAP_REF(env, arg)                                                                           \
  RequireLoaded(env);                                                                               \
  bpf_map *map_ = FindMap(env, arg);                                                                \
  MapRef m{map_, bpf_map__fd(map_), bpf_map__name(map_), bpf_map__key_size(map_), map_value_bytes(map_), \
           bpf_map__type(map_)};                                                                    \
  if (m.fd < 0) throw_error(env, "map '" + m.name + "' has no fd (not created)")

// mapLookup(map, key) -> Buffer | null
Napi::Value NativeObject::MapLookup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  Napi::Buffer<uint8_t> key = buffer_arg(env, info, 1, m.key_size, "key", m.name);
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, m.value_bytes);
  int err = bpf_map_lookup_elem(m.fd, key.Data(), value.Data());
  if (err == -ENOENT) return env.Null();
  if (err != 0) throw_errno(env, "lookup in map '" + m.name + "' failed", -err, false);
  return value;
}

// mapUpdate(map, key, value, flags) with flags BPF_ANY (0), BPF_NOEXIST (1), BPF_EXIST (2)
Napi::Value NativeObject::MapUpdate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  Napi::Buffer<uint8_t> key = buffer_arg(env, info, 1, m.key_size, "key", m.name);
  Napi::Buffer<uint8_t> value = buffer_arg(env, info, 2, m.value_bytes, "value", m.name);
  uint64_t flags = info.Length() > 3 && info[3].IsNumber() ? static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value()) : uint64_t{BPF_ANY};
  int err = bpf_map_update_elem(m.fd, key.Data(), value.Data(), flags);
  if (err != 0) throw_errno(env, "update of map '" + m.name + "' failed", -err, false);
  return env.Undefined();
}

// mapDelete(map, key) -> true if an entry was deleted, false if there was none
Napi::Value NativeObject::MapDelete(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  Napi::Buffer<uint8_t> key = buffer_arg(env, info, 1, m.key_size, "key", m.name);
  int err = bpf_map_delete_elem(m.fd, key.Data());
  if (err == -ENOENT) return Napi::Boolean::New(env, false);
  if (err != 0) throw_errno(env, "delete from map '" + m.name + "' failed", -err, false);
  return Napi::Boolean::New(env, true);
}

// mapKeys(map) -> { count, keys }
Napi::Value NativeObject::MapKeys(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  std::vector<uint8_t> keys = all_keys(env, m);
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", static_cast<double>(m.key_size ? keys.size() / m.key_size : 0));
  o.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), keys.size()));
  return o;
}

// mapEntries(map) -> { count, keys, values }: a snapshot by iteration (entries deleted while
// walking are left out).
Napi::Value NativeObject::MapEntries(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  std::vector<uint8_t> keys = all_keys(env, m), out_keys, values;
  size_t n = m.key_size ? keys.size() / m.key_size : 0, count = 0;
  out_keys.reserve(keys.size());
  values.resize(n * m.value_bytes);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *k = keys.data() + i * m.key_size;
    int err = bpf_map_lookup_elem(m.fd, k, values.data() + count * m.value_bytes);
    if (err == -ENOENT) continue;
    if (err != 0) throw_errno(env, "lookup in map '" + m.name + "' failed", -err, false);
    out_keys.insert(out_keys.end(), k, k + m.key_size);
    count++;
  }
  values.resize(count * m.value_bytes);
  return bulk_result(env, out_keys, values, count);
}

// mapLookupAndDeleteAll(map) -> { count, keys, values, batched }: read-and-reset.
// Hash maps use BPF_MAP_LOOKUP_AND_DELETE_BATCH (atomic per bucket: an update racing with the
// read lands either in this read or in the map for the next one). Other deletable maps fall back
// to iterate + lookup + delete. Arrays cannot delete: use entries() with monotonic counters.
Napi::Value NativeObject::MapLookupAndDeleteAll(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  MAP_REF(env, info[0]);
  if (is_array(m.type))
    throw_error(env, "map '" + m.name +
                         "' is an array: its entries cannot be deleted, so read-and-reset is not possible; read it "
                         "with entries() and keep counters monotonic");
  std::vector<uint8_t> keys, values;
  size_t total = 0;
  if (is_hash(m.type)) {
    size_t cap = bpf_map__max_entries(m.map);
    if (cap == 0) cap = 1;
    keys.resize(cap * m.key_size);
    values.resize(cap * m.value_bytes);
    // The batch token of hash maps is a bucket index (u32); 8 bytes covers any key-sized token.
    std::vector<uint8_t> in_tok(std::max<size_t>(m.key_size, 8)), out_tok(in_tok.size());
    bool first = true;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    for (int guard = 0; guard < 1 << 20; guard++) {
      if (total == cap) {  // entries inserted behind the walk: grow
        cap *= 2;
        keys.resize(cap * m.key_size);
        values.resize(cap * m.value_bytes);
      }
      __u32 count = static_cast<__u32>(cap - total);
      int err = bpf_map_lookup_and_delete_batch(m.fd, first ? nullptr : in_tok.data(), out_tok.data(),
                                                keys.data() + total * m.key_size,
                                                values.data() + total * m.value_bytes, &count, &opts);
      if (err == 0 || err == -ENOENT) total += count;
      if (err == -ENOENT) break;  // end of map
      if (err == -ENOSPC) {       // a bucket holds more entries than the room left
        cap *= 2;
        keys.resize(cap * m.key_size);
        values.resize(cap * m.value_bytes);
        continue;
      }
      if (err != 0) {
        if (first && total == 0 && (err == -EINVAL || err == -ENOTSUP || err == -524 || err == -EOPNOTSUPP)) {
          goto fallback;  // kernel without batch ops for this map
        }
        throw_errno(env, "batch lookup-and-delete on map '" + m.name + "' failed", -err, false);
      }
      in_tok.swap(out_tok);
      first = false;
    }
    keys.resize(total * m.key_size);
    values.resize(total * m.value_bytes);
    Napi::Object o = bulk_result(env, keys, values, total);
    o.Set("batched", true);
    return o;
  }
fallback : {
  keys = all_keys(env, m);
  size_t n = m.key_size ? keys.size() / m.key_size : 0;
  std::vector<uint8_t> out_keys;
  values.assign(n * m.value_bytes, 0);
  total = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *k = keys.data() + i * m.key_size;
    uint8_t *v = values.data() + total * m.value_bytes;
    int err = bpf_map_lookup_elem(m.fd, k, v);
    if (err == -ENOENT) continue;
    if (err != 0) throw_errno(env, "lookup in map '" + m.name + "' failed", -err, false);
    err = bpf_map_delete_elem(m.fd, k);
    if (err != 0 && err != -ENOENT) throw_errno(env, "delete from map '" + m.name + "' failed", -err, false);
    out_keys.insert(out_keys.end(), k, k + m.key_size);
    total++;
  }
  values.resize(total * m.value_bytes);
  Napi::Object o = bulk_result(env, out_keys, values, total);
  o.Set("batched", false);
  return o;
}
}

}  // namespace bpfcol
