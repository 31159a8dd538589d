#include "ringbuf.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "common.h"
#include "object.h"

namespace bpfcol {

namespace {

constexpr size_t kHeader = 8;  // [u32 length][u32 zero]: payloads stay 8-byte aligned

size_t round8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

int on_sample(void *ctx, void *data, size_t size) {
  auto *s = static_cast<RingState *>(ctx);
  if (s->stopped) return -ECANCELED;
  size_t need = kHeader + round8(size);
  if (s->used + need > s->cap) s->Flush();
  if (s->stopped) return -ECANCELED;  // the handler stopped the ring
  if (need > s->cap) {
    // A record larger than the whole batch buffer: replace the buffer with a big enough one.
    Napi::Env env(s->env);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, need * 2);
    s->batch_ref = Napi::Persistent(ab);
    s->data = static_cast<uint8_t *>(ab.Data());
    s->cap = ab.ByteLength();
  }
  uint8_t *p = s->data + s->used;
  uint32_t len = static_cast<uint32_t>(size);
  memcpy(p, &len, 4);
  memset(p + 4, 0, 4);
  memcpy(p + kHeader, data, size);
  if (round8(size) != size) memset(p + kHeader + size, 0, round8(size) - size);
  s->used += need;
  s->count++;
  return 0;
}

void on_poll(uv_poll_t *h, int status, int events) {
  auto *s = static_cast<RingState *>(h->data);
  if (s == nullptr) return;
  s->wakeups++;
  s->Drain(false, false);
}

void on_timer(uv_timer_t *h) {
  auto *s = static_cast<RingState *>(h->data);
  if (s == nullptr) return;
  s->Drain(true, false);
}

}  // namespace

RingState::~RingState() {
  if (rb != nullptr) ring_buffer__free(rb);
}

void RingState::Flush() {
  if (count == 0 || stopped) return;
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  Napi::ArrayBuffer ab = batch_ref.Value();
  uint32_t n = count;
  size_t bytes = used;
  used = 0;
  count = 0;
  delivered += n;
  batches++;
  try {
    callback.MakeCallback(e.Global(), {ab, Napi::Number::New(e, static_cast<double>(bytes)), Napi::Number::New(e, n)},
                          *async);
  } catch (const Napi::Error &err) {
    if (error.IsEmpty()) error = Napi::Persistent(static_cast<Napi::Value>(err.Value()));
  }
}

void RingState::Drain(bool from_timer, bool from_js_call) {
  if (stopped || in_consume || rb == nullptr) return;
  std::shared_ptr<RingState> self = shared_from_this();  // the handler may close the object
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  in_consume = true;
  int n = ring_buffer__consume(rb);
  in_consume = false;
  if (!stopped) Flush();
  if (from_timer && n > 0) timer_drains++;
  if (stopped) {  // stopped from inside the handler: finish what Stop() had to defer
    if (rb != nullptr) {
      ring_buffer__free(rb);
      rb = nullptr;
    }
    callback.Reset();
    async.reset();
  }
  if (!error.IsEmpty()) {
    Napi::Value err = error.Value();
    error.Reset();
    if (from_js_call) throw Napi::Error(e, err);
    napi_fatal_exception(env, err);  // like a throwing event listener: 'uncaughtException'
  }
}

void RingState::Stop() {
  if (stopped) return;
  stopped = true;
  if (poll != nullptr) {
    uv_poll_stop(poll);  // also removes the epoll fd from libuv's epoll set
    poll->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t *>(poll), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
    poll = nullptr;
  }
  if (timer != nullptr) {
    uv_timer_stop(timer);
    timer->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t *>(timer), [](uv_handle_t *h) { delete reinterpret_cast<uv_timer_t *>(h); });
    timer = nullptr;
  }
  if (in_consume) return;  // Drain() frees the rest once ring_buffer__consume returns
  if (rb != nullptr) {
    ring_buffer__free(rb);
    rb = nullptr;
  }
  callback.Reset();
  async.reset();
}

// openRingBuffer(map, batchBytes, safetyIntervalMs, onBatch(arrayBuffer, byteLength, count))
Napi::Value NativeObject::OpenRingBuffer(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  bpf_map *map = FindMap(env, info[0]);
  std::string name = bpf_map__name(map);
  if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
    throw_error(env, "map '" + name + "' is not a BPF_MAP_TYPE_RINGBUF map");
  if (!info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsFunction())
    throw_error(env, "openRingBuffer(map, batchBytes, safetyIntervalMs, onBatch)");
  size_t batch_bytes = info[1].As<Napi::Number>().Int64Value();
  if (batch_bytes < 4096) batch_bytes = 4096;
  int64_t interval = info[2].As<Napi::Number>().Int64Value();
  if (interval < 1) interval = 1;

  auto s = std::make_shared<RingState>();
  s->env = env;
  s->map_name = name;
  log_reset();
  s->rb = ring_buffer__new(bpf_map__fd(map), on_sample, s.get(), nullptr);
  if (s->rb == nullptr) throw_errno(env, "opening ring buffer '" + name + "' failed", last_errno());
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, batch_bytes);
  s->batch_ref = Napi::Persistent(ab);
  s->data = static_cast<uint8_t *>(ab.Data());
  s->cap = ab.ByteLength();
  s->callback = Napi::Persistent(info[3].As<Napi::Function>());
  s->async = std::make_unique<Napi::AsyncContext>(env, "bpfcol.RingBuffer");

  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw_error(env, "no libuv event loop");
  s->poll = new uv_poll_t;
  int err = uv_poll_init(loop, s->poll, ring_buffer__epoll_fd(s->rb));
  if (err != 0) {
    delete s->poll;
    s->poll = nullptr;
    throw_error(env, std::string("uv_poll_init on the ring buffer's epoll fd failed: ") + uv_strerror(err));
  }
  s->poll->data = s.get();
  uv_poll_start(s->poll, UV_READABLE, on_poll);
  s->timer = new uv_timer_t;
  uv_timer_init(loop, s->timer);
  s->timer->data = s.get();
  uv_timer_start(s->timer, on_timer, static_cast<uint64_t>(interval), static_cast<uint64_t>(interval));
  uv_unref(reinterpret_cast<uv_handle_t *>(s->timer));  // the poll handle alone keeps the loop alive
  rings_.push_back(s);
  return NativeRingBuffer::Create(env, s);
}

Napi::Function NativeRingBuffer::Define(Napi::Env env) {
  return DefineClass(env, "NativeRingBuffer",
                     {
                         InstanceMethod<&NativeRingBuffer::Drain>("drain"),
                         InstanceMethod<&NativeRingBuffer::Stop>("stop"),
                         InstanceMethod<&NativeRingBuffer::Stats>("stats"),
                     });
}

NativeRingBuffer::NativeRingBuffer(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeRingBuffer>(info) {}

Napi::Object NativeRingBuffer::Create(Napi::Env env, std::shared_ptr<RingState> state) {
  Napi::Object obj = addon_data(env).ring_ctor.New({});
  NativeRingBuffer::Unwrap(obj)->state_ = std::move(state);
  return obj;
}

// drain(): consume everything in the ring now (one batch call at most per buffer-full).
Napi::Value NativeRingBuffer::Drain(const Napi::CallbackInfo &info) {
  if (state_) state_->Drain(false, true);
  return info.Env().Undefined();
}

Napi::Value NativeRingBuffer::Stop(const Napi::CallbackInfo &info) {
  if (state_) state_->Stop();
  return info.Env().Undefined();
}

Napi::Value NativeRingBuffer::Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  RingState *s = state_.get();
  o.Set("delivered", s ? s->delivered : 0);
  o.Set("batches", s ? s->batches : 0);
  o.Set("wakeups", s ? s->wakeups : 0);
  o.Set("timerDrains", s ? s->timer_drains : 0);
  o.Set("stopped", s ? s->stopped : true);
  return o;
}

void init_ringbuf(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeRingBuffer::Define(env);
  addon_data(env).ring_ctor = Napi::Persistent(ctor);
}

}  // namespace bpfcol
