#include "egress/egress_timer.h"

namespace sg::egress {
namespace {

class UvTimer final : public Timer {
 public:
  explicit UvTimer(uv_loop_t* loop) : handle_(new uv_timer_t) {
    uv_timer_init(loop, handle_);
    handle_->data = this;
  }
  ~UvTimer() override {
    uv_timer_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  void Start(std::chrono::milliseconds after, std::function<void()> fire) override {
    fire_ = std::move(fire);
    uv_timer_start(
        handle_,
        [](uv_timer_t* t) {
          auto* self = static_cast<UvTimer*>(t->data);
          if (self == nullptr) return;
          auto due = std::move(self->fire_);
          self->fire_ = nullptr;
          if (due) due();  // may destroy self
        },
        static_cast<uint64_t>(std::max<int64_t>(0, after.count())), 0);
  }
  void Stop() override {
    uv_timer_stop(handle_);
    fire_ = nullptr;
  }

 private:
  uv_timer_t* handle_;
  std::function<void()> fire_;
};

}  // namespace

std::unique_ptr<Timer> UvTimers::Create() { return std::make_unique<UvTimer>(loop_); }

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace sg::egress
