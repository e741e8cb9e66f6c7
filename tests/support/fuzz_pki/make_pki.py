# Generates the fixed fuzz PKI (test material, never used outside tests).
import datetime, sys, os
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
nb = datetime.datetime(2025, 1, 1)
na = datetime.datetime(2099, 12, 31, 23, 59, 59)

def name(cn, email=None):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smimegate fuzz"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)

def write(stem, key, cert):
    with open(f"{out}/{stem}.pem", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(f"{out}/{stem}.key", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

root_key = rsa.generate_private_key(65537, 2048)
root_name = name("smimegate fuzz root CA")
root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(1).not_valid_before(nb).not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256()))
write("root", root_key, root)

def user(stem, cn, email, key, serial, ku):
    cert = (x509.CertificateBuilder().subject_name(name(cn, email)).issuer_name(root_name)
            .public_key(key.public_key()).serial_number(serial).not_valid_before(nb).not_valid_after(na)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(ku, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    write(stem, key, cert)

user("alice", "Alice", "alice@example.com", rsa.generate_private_key(65537, 2048), 2,
     x509.KeyUsage(True, True, True, False, False, False, False, False, False))
user("bob", "Bob", "bob@example.com", ec.generate_private_key(ec.SECP256R1()), 3,
     x509.KeyUsage(True, True, False, False, True, False, False, False, False))
