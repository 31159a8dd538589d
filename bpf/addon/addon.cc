// bpfcol's generic eBPF runtime: a thin N-API layer over the system libbpf. It knows no receiver;
// src/bpf/*.ts gives it types. Environment teardown closes every object (detaching its programs);
// a killed process detaches by construction since every attachment is an fd.
#include <napi.h>

#include "common.h"
#include "object.h"

namespace bpfcol {

AddonData::~AddonData() {
  for (NativeObject *o : objects) {
    o->CloseAll();
    o->data_ = nullptr;
  }
  objects.clear();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  install_libbpf_logger();
  env.SetInstanceData<AddonData>(new AddonData());
  env.AddCleanupHook([env]() {
    AddonData &d = addon_data(env);
    for (NativeObject *o : d.objects) o->CloseAll();
  });
  init_object(env, exports);
  init_link(env, exports);
  init_ringbuf(env, exports);
  init_kernel(env, exports);
  return exports;
}

}  // namespace bpfcol

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return bpfcol::Init(env, exports); }

NODE_API_MODULE(bpfcol_native, InitModule)
