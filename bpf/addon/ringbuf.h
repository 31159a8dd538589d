// Ring buffer consumer on Node's event loop. libuv polls the ring's epoll fd; on a wake-up the
// ring is drained with ring_buffer__consume into ONE preallocated ArrayBuffer (records framed as
// [u32 length][u32 0][payload padded to 8]) and JavaScript is called once with the batch
// (arrayBuffer, byteLength, count). A slow timer drains too, in case a wake-up is missed (the
// kernel's adaptive wake-ups skip notifications while the consumer lags). When the batch buffer
// fills mid-drain the batch is handed over and refilled, so no record is dropped in user space.
#pragma once

#include <bpf/libbpf.h>
#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>

namespace bpfcol {

struct RingState : std::enable_shared_from_this<RingState> {
  napi_env env = nullptr;
  std::string map_name;
  ring_buffer *rb = nullptr;
  uv_poll_t *poll = nullptr;
  uv_timer_t *timer = nullptr;
  Napi::FunctionReference callback;
  Napi::Reference<Napi::ArrayBuffer> batch_ref;
  std::unique_ptr<Napi::AsyncContext> async;
  uint8_t *data = nullptr;
  size_t cap = 0;
  size_t used = 0;
  uint32_t count = 0;
  bool in_consume = false;
  bool stopped = false;
  bool from_js = false;
  Napi::Reference<Napi::Value> error;  // first exception thrown by the JS handler during a drain
  double delivered = 0, batches = 0, wakeups = 0, timer_drains = 0;

  void Drain(bool from_timer, bool from_js_call);
  void Flush();
  void Stop();
  ~RingState();
};

class NativeRingBuffer : public Napi::ObjectWrap<NativeRingBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Create(Napi::Env env, std::shared_ptr<RingState> state);
  explicit NativeRingBuffer(const Napi::CallbackInfo &info);

 private:
  Napi::Value Drain(const Napi::CallbackInfo &info);
  Napi::Value Stop(const Napi::CallbackInfo &info);
  Napi::Value Stats(const Napi::CallbackInfo &info);
  std::shared_ptr<RingState> state_;  // shared with the NativeObject, which stops it on close()
};

}  // namespace bpfcol
