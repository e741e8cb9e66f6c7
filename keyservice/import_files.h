// Parsers for the files an admin imports with smimegatectl, with errors that
// name the file and the line:
//   users.csv:7: "bob@" is not an email address (expected local@domain)
//   partner.pem:12: certificate 2 (BEGIN at line 12): bad base64
//
// Users CSV: one user per line, `address[,participating[,tenant]]`;
// participating is yes/no/true/false/1/0 (default yes). Blank lines and
// lines starting with '#' are skipped; a first line starting with
// "address" is a header. Fields may be double-quoted.
//
// Certificates: a PEM bundle (any number of CERTIFICATE blocks, text around
// them ignored) or a single DER certificate.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "keyservice/key_admin.h"

namespace sg::keyservice {

// All errors of the file, one per line ("name:line: what"), in one
// kInvalidArgument; nothing is returned unless every line is good.
Result<std::vector<User>> ParseUsersCsv(const std::string& text, const std::string& name);

// DER certificates; kInvalidArgument naming file, line and block on the first bad block.
Result<std::vector<std::string>> ParseCertificateFile(const std::string& data,
                                                      const std::string& name);

}  // namespace sg::keyservice
