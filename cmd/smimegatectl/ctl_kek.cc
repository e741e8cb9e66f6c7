// smimegatectl kek rotate: re-seal every stored private key under the
// current KEK (docs/keyservice.md "KEK rotation").
#include <iostream>

#include "cmd/smimegatectl/ctl.h"

namespace sg::ctl {

void AddKekCommands(CLI::App& app, Ctl& ctl) {
  auto* kek = app.add_subcommand("kek", "the key-encryption key")->require_subcommand(1);
  auto* rotate = kek->add_subcommand(
      "rotate",
      "re-seal every private key under the KEK the keyservice runs with (kek_file / kek_env); "
      "the previous KEK (kek_previous_file / kek_previous_env) is accepted until this completes");
  rotate->callback([&] {
    ctl.Run([&](ks::KeyServiceClient& c) {
      auto r = c.RotateKek();
      if (!r.ok()) return Fail(r.error());
      std::cout << "re-sealed " << r->resealed << " records under KEK " << r->kek_id << " ("
                << r->already_current
                << " keys were sealed under it already); every private key is now sealed under "
                   "the current KEK: the previous one can be removed from the configuration\n";
      return 0;
    });
  });
}

}  // namespace sg::ctl
