#include "ingress/ingress_loop.h"
#include "common/thread_name.h"

#include <spdlog/spdlog.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>

#include <future>

#include "ingress/ingress_connection.h"

namespace sg::ingress {

void PostQueue::Attach(uv_async_t* async) {
  std::lock_guard<std::mutex> lock(mu_);
  async_ = async;
}

void PostQueue::Post(std::function<void()> f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || async_ == nullptr) return;
  items_.push_back(std::move(f));
  uv_async_send(async_);
}

void PostQueue::Drain() {
  std::vector<std::function<void()>> items;
  {
    std::lock_guard<std::mutex> lock(mu_);
    items.swap(items_);
  }
  for (auto& f : items) f();
}

void PostQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  async_ = nullptr;
  items_.clear();
}

IngressLoop::IngressLoop(LoopDeps deps, int index) : deps_(deps), index_(index) {}

IngressLoop::~IngressLoop() { Join(); }

Status IngressLoop::Start(std::vector<std::pair<ListenerRuntime*, int>> sockets) {
  auto started = std::make_shared<std::promise<Status>>();
  std::future<Status> result = started->get_future();
  thread_ = std::thread([this, sockets = std::move(sockets), started]() mutable {
    SetCurrentThreadName("sg-ingress");
    // libuv writes with writev(): a client that reset the connection would
    // raise SIGPIPE and kill the process. SIGPIPE from a write goes to the
    // writing thread, so blocking it here turns it into EPIPE for us only.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    if (uv_loop_init(&loop_) != 0) {
      for (auto& s : sockets) close(s.second);
      started->set_value(MakeError(ErrorCode::kInternal, "uv_loop_init failed"));
      return;
    }
    uv_async_init(&loop_, &async_, [](uv_async_t* a) {
      static_cast<IngressLoop*>(a->data)->posts_->Drain();
    });
    async_.data = this;
    posts_->Attach(&async_);
    uv_timer_init(&loop_, &grace_timer_);
    grace_timer_.data = this;
    Status st = OkStatus();
    for (auto& [runtime, fd] : sockets) {
      auto* l = new Listener{{}, runtime, this};
      uv_tcp_init(&loop_, &l->handle);
      l->handle.data = l;
      listeners_.push_back(l);
      ++listeners_open_;
      int rc = uv_tcp_open(&l->handle, fd);
      if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->handle), 511, OnConnection);
      if (rc != 0 && st.ok()) {
        st = MakeError(ErrorCode::kIoError, runtime->config.config_path + " (" +
                                                runtime->config.name + "): listen failed: " +
                                                uv_strerror(rc));
      }
    }
    bool ok = st.ok();
    started->set_value(std::move(st));
    if (!ok) BeginStop(std::chrono::milliseconds(0));
    Run();
  });
  Status st = result.get();
  return st;
}

void IngressLoop::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Every handle is closed by now (MaybeFinish), so the loop can close.
  if (uv_loop_close(&loop_) != 0) {
    spdlog::error("ingress loop {}: handles left open at exit", index_);
  }
}

void IngressLoop::OnConnection(uv_stream_t* server, int status) {
  auto* l = static_cast<Listener*>(server->data);
  IngressLoop* self = l->loop;
  if (status < 0 || self->stopping_) return;
  auto conn = std::make_unique<Connection>(*self, *l->runtime);
  Connection* raw = conn.get();
  self->connections_.emplace(raw, std::move(conn));
  raw->Accept(server);
}

void IngressLoop::Stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  posts_->Post([this, grace] { BeginStop(grace); });
}

void IngressLoop::BeginStop(std::chrono::milliseconds grace) {
  if (stopping_) return;
  stopping_ = true;
  for (Listener* l : listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&l->handle), [](uv_handle_t* h) {
      auto* lis = static_cast<Listener*>(h->data);
      IngressLoop* self = lis->loop;
      --self->listeners_open_;
      delete lis;
      self->MaybeFinish();
    });
  }
  listeners_.clear();
  // Copy: Shutdown may close connections, which removes them from the map.
  std::vector<Connection*> conns;
  for (auto& [raw, c] : connections_) conns.push_back(raw);
  for (Connection* c : conns) c->Shutdown();
  uv_timer_start(&grace_timer_, [](uv_timer_t* t) {
    auto* self = static_cast<IngressLoop*>(t->data);
    std::vector<Connection*> left;
    for (auto& [raw, c] : self->connections_) left.push_back(raw);
    if (!left.empty()) {
      spdlog::warn("ingress loop {}: closing {} sessions at the end of the shutdown grace",
                   self->index_, left.size());
    }
    for (Connection* c : left) c->ForceClose();
  }, static_cast<uint64_t>(grace.count()), 0);
  MaybeFinish();
}

void IngressLoop::Remove(Connection* conn) {
  connections_.erase(conn);
  MaybeFinish();
}

void IngressLoop::MaybeFinish() {
  if (!stopping_ || finished_ || !connections_.empty() || listeners_open_ > 0) return;
  finished_ = true;
  posts_->Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&grace_timer_), nullptr);
}

void IngressLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sg::ingress
