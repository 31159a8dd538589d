#include "link.h"

#include <bpf/bpf.h>

#include "common.h"

namespace bpfcol {

Napi::Function NativeLink::Define(Napi::Env env) {
  return DefineClass(env, "NativeLink",
                     {
                         InstanceMethod<&NativeLink::Destroy>("destroy"),
                         InstanceMethod<&NativeLink::Info>("info"),
                         InstanceMethod<&NativeLink::Attached>("attached"),
                     });
}

NativeLink::NativeLink(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeLink>(info) {}

Napi::Object NativeLink::Create(Napi::Env env, std::shared_ptr<LinkSet> set) {
  Napi::Object obj = addon_data(env).link_ctor.New({});
  NativeLink::Unwrap(obj)->set_ = std::move(set);
  return obj;
}

Napi::Value NativeLink::Destroy(const Napi::CallbackInfo &info) {
  if (set_) set_->destroy();
  return info.Env().Undefined();
}

Napi::Value NativeLink::Attached(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), set_ && !set_->links.empty());
}

// One entry per underlying link: its fd and, for kernel bpf_link objects, the link id that
// `bpftool link show` prints (0 for attachments that are a bare perf event fd).
Napi::Value NativeLink::Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!set_) return out;
  uint32_t i = 0;
  for (bpf_link *l : set_->links) {
    Napi::Object o = Napi::Object::New(env);
    int fd = bpf_link__fd(l);
    struct bpf_link_info li = {};
    __u32 len = sizeof(li);
    uint32_t id = 0;
    if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &li, &len) == 0) id = li.id;
    o.Set("fd", fd);
    o.Set("id", id);
    out.Set(i++, o);
  }
  return out;
}

void init_link(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeLink::Define(env);
  addon_data(env).link_ctor = Napi::Persistent(ctor);
}

}  // namespace bpfcol
