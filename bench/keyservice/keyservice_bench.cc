// What a worker pays per message for its keys: in process (the baseline of
// `smimegate run`), over gRPC on the loopback in plaintext (the baseline of
// the distributed mode before issue 14) and with mutual TLS over TCP and a
// Unix socket (now), and through the worker-side cache in front of gRPC;
// and what first use costs (key generation + issuance).
//
// The plaintext server exists only here: it serves the same KeyServiceImpl
// through the same handlers, without TLS and without the role check, so the
// difference is exactly what mutual TLS and the per-call authorization
// cost. Report mTLS / plaintext per call (same run), and the cached lookup.
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include "keyservice/key_cache.h"
#include "keyservice/keyservice_grpc_client.h"
#include "keyservice/keyservice_grpc_server.h"
#include "keyservice/keyservice_server.h"
#include "keyservice/rpc_channel.h"
#include "keyservice/rpc_server.h"
#include "tests/keyservice/test_pki.h"

namespace sg::keyservice {
namespace {

namespace pb = ::smimegate::keyservice::v1;

struct Fixture {
  Fixture() {
    auto config = testing::TestConfig(dir.path());
    server = std::move(*KeyServiceServer::Create(config, {"example.com"}, registry, clock));
    if (!server->Start().ok()) std::abort();
    if (!server->admin().PutUsers({User{"alice@example.com", true, ""}}).ok()) std::abort();
    if (!server->local().GetSigningIdentity("alice@example.com").ok()) std::abort();
    auto now = std::chrono::system_clock::now();
    auto partner = testing::MakeCa("Bench Partner CA", now);
    testing::LeafOptions lo;
    lo.email = "partner@partner.example";
    lo.not_before = now - std::chrono::hours(1);
    lo.not_after = now + std::chrono::hours(24 * 30);
    if (!server->admin()
             .ImportCertificates("partner@partner.example", {testing::MakeLeaf(partner, lo)})
             .ok()) {
      std::abort();
    }
    worker = testing::RoleCredentials(server->admin(), "worker");

    // The same service in plaintext on another port (the old transport).
    plain_service = std::make_unique<KeyServiceGrpc>(server->impl());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(plain_service.get());
    plain_server = builder.BuildAndStart();
    plain_stub = pb::KeyService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    // Mutual TLS over TCP (the keyservice itself) and over a Unix socket.
    tls_stub = pb::KeyService::NewStub(MakeChannel(server->bound_endpoint(), worker));
    RpcServerOptions unix_options;
    unix_options.listen = "unix:" + (dir.path() / "ks.sock").string();
    unix_options.tls = InternalTlsSource(server->impl().internal_ca(), "smimegate-keyservice",
                                         std::chrono::hours(24), clock);
    unix_options.roles = RoleTable::KeyServiceDefault();
    unix_rpc = std::move(*RpcServer::Create(std::move(unix_options)));
    unix_service = std::make_unique<KeyServiceGrpc>(server->impl());
    unix_rpc->AddService(unix_service.get());
    if (!unix_rpc->Start().ok()) std::abort();
    unix_stub = pb::KeyService::NewStub(MakeChannel(unix_rpc->bound_endpoint(), worker));

    client = std::move(*KeyServiceClient::Create(server->bound_endpoint(), worker));
    cache = std::make_unique<CachingKeyService>(*client);
  }
  ~Fixture() {
    cache.reset();
    client.reset();
    unix_rpc->Stop();
    plain_server->Shutdown();
    server->Stop();
  }
  testing::TempDir dir;
  metrics::Registry registry;
  SystemClock clock;
  std::unique_ptr<KeyServiceServer> server;
  ClientCredentials worker;
  std::unique_ptr<KeyServiceGrpc> plain_service;
  std::unique_ptr<grpc::Server> plain_server;
  std::unique_ptr<pb::KeyService::Stub> plain_stub;
  std::unique_ptr<pb::KeyService::Stub> tls_stub;
  std::unique_ptr<RpcServer> unix_rpc;
  std::unique_ptr<KeyServiceGrpc> unix_service;
  std::unique_ptr<pb::KeyService::Stub> unix_stub;
  std::unique_ptr<KeyServiceClient> client;
  std::unique_ptr<CachingKeyService> cache;
};

Fixture& F() {
  static Fixture* f = new Fixture();  // shared by all benchmarks, never torn down mid-run
  return *f;
}

void Lookup(benchmark::State& state, KeyService& ks) {
  for (auto _ : state) {
    auto id = ks.GetSigningIdentity("alice@example.com");
    if (!id.ok() || !id->has_value()) state.SkipWithError("lookup failed");
    benchmark::DoNotOptimize(id);
  }
}

// The raw stub: the same work as KeyServiceClient minus its conversions.
void StubSigningIdentity(benchmark::State& state, pb::KeyService::Stub& stub) {
  pb::AddressRequest req;
  req.set_address("alice@example.com");
  for (auto _ : state) {
    grpc::ClientContext ctx;
    pb::SigningIdentityResponse resp;
    if (!stub.GetSigningIdentity(&ctx, req, &resp).ok() || !resp.participating()) {
      state.SkipWithError("lookup failed");
    }
    benchmark::DoNotOptimize(resp);
  }
}

void StubEncryptionCertificate(benchmark::State& state, pb::KeyService::Stub& stub) {
  pb::AddressRequest req;
  req.set_address("partner@partner.example");
  for (auto _ : state) {
    grpc::ClientContext ctx;
    pb::EncryptionCertificateResponse resp;
    if (!stub.GetEncryptionCertificate(&ctx, req, &resp).ok() || !resp.found()) {
      state.SkipWithError("lookup failed");
    }
    benchmark::DoNotOptimize(resp);
  }
}

void BM_SigningIdentityInProcess(benchmark::State& state) { Lookup(state, F().server->local()); }
void BM_SigningIdentityGrpcPlaintext(benchmark::State& state) {
  StubSigningIdentity(state, *F().plain_stub);
}
void BM_SigningIdentityGrpcMtlsTcp(benchmark::State& state) { StubSigningIdentity(state, *F().tls_stub); }
void BM_SigningIdentityGrpcMtlsUnix(benchmark::State& state) {
  StubSigningIdentity(state, *F().unix_stub);
}
void BM_EncryptionCertificateGrpcPlaintext(benchmark::State& state) {
  StubEncryptionCertificate(state, *F().plain_stub);
}
void BM_EncryptionCertificateGrpcMtlsTcp(benchmark::State& state) {
  StubEncryptionCertificate(state, *F().tls_stub);
}
void BM_SigningIdentityClientMtls(benchmark::State& state) { Lookup(state, *F().client); }
void BM_SigningIdentityCachedMtls(benchmark::State& state) { Lookup(state, *F().cache); }

void BM_FirstUseIssuance(benchmark::State& state) {
  static int i = 0;  // unique users across repetitions
  for (auto _ : state) {
    state.PauseTiming();
    std::string addr = "user" + std::to_string(state.range(0)) + "-" + std::to_string(i++) + "@example.com";
    if (!F().server->admin().PutUsers({User{addr, true, ""}}).ok()) std::abort();
    state.ResumeTiming();
    auto id = F().server->local().GetSigningIdentity(addr);
    if (!id.ok()) state.SkipWithError("issuance failed");
  }
}

BENCHMARK(BM_SigningIdentityInProcess);
BENCHMARK(BM_SigningIdentityGrpcPlaintext);
BENCHMARK(BM_SigningIdentityGrpcMtlsTcp);
BENCHMARK(BM_SigningIdentityGrpcMtlsUnix);
BENCHMARK(BM_EncryptionCertificateGrpcPlaintext);
BENCHMARK(BM_EncryptionCertificateGrpcMtlsTcp);
BENCHMARK(BM_SigningIdentityClientMtls);
BENCHMARK(BM_SigningIdentityCachedMtls);
BENCHMARK(BM_FirstUseIssuance)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
}  // namespace sg::keyservice

BENCHMARK_MAIN();
