// A set of libbpf links made by one attach call (one per CPU for perf events). The owning
// NativeObject keeps it, so close() detaches everything; the JS Link handle can detach it earlier.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

namespace bpfcol {

struct LinkSet {
  std::string description;
  std::vector<bpf_link *> links;

  void destroy() {
    for (bpf_link *l : links) bpf_link__destroy(l);
    links.clear();
  }
  ~LinkSet() { destroy(); }
};

class NativeLink : public Napi::ObjectWrap<NativeLink> {
 public:
  static Napi::Object Create(Napi::Env env, std::shared_ptr<LinkSet> set);
  static Napi::Function Define(Napi::Env env);
  explicit NativeLink(const Napi::CallbackInfo &info);

 private:
  Napi::Value Destroy(const Napi::CallbackInfo &info);
  Napi::Value Info(const Napi::CallbackInfo &info);
  Napi::Value Attached(const Napi::CallbackInfo &info);
  std::shared_ptr<LinkSet> set_;
};

}  // namespace bpfcol
