// DER (ITU-T X.690) building blocks for the CMS structures the S/MIME engine
// writes by hand (signed attributes, certificate-stripped SignedData): the
// one definite-length writer of the tree.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sg::mail {

// Appends the definite length octets of |len| (short form below 128, else
// long form with the fewest length bytes, as DER requires).
void AppendDerLength(std::string& out, size_t len);

// tag, length, content: one TLV with a low tag number.
std::string DerTlv(unsigned char tag, std::string_view content);

}  // namespace sg::mail
