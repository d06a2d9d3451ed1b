// Internal: the checks verify() makes of each SignerInfo on its own, and the content digests all
// signers share. Each check returns the verdict that stops the signer, or nothing when it passes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "smime/io.hpp"
#include "smime/ossl.hpp"
#include "smime/verify.hpp"

namespace smime::detail {

struct Verdict {
  VerifyStatus status;
  std::string reason;
};

// The digests of the content, computed in one pass for every signer: a chain of digest BIOs (one
// per distinct digest) over a null BIO, in the form CMS_SignerInfo_verify_content() reads.
class ContentDigests final : public Sink {
 public:
  explicit ContentDigests(const std::vector<int>& md_nids);
  void write(std::string_view bytes) override;
  BIO* chain() const { return chain_.get(); }

 private:
  BioPtr chain_;
};

// The digest a SignerInfo names (a signature OID in its place, as some senders write, is mapped to
// its digest); NID_undef when OpenSSL does not know the OID.
int signer_digest_nid(CMS_SignerInfo* si);
// Our name of the SignerInfo's digest ("sha256"), else OpenSSL's short name or the dotted OID.
std::string signer_digest_name(CMS_SignerInfo* si);
// OpenSSL's long name of the signature algorithm ("rsaEncryption", "ED25519"), else the dotted OID.
std::string signer_signature_algorithm(CMS_SignerInfo* si);

// The digest, signature algorithm or signer key type is one this OpenSSL's CMS cannot verify.
std::optional<Verdict> unsupported_algorithm(CMS_SignerInfo* si);
// The signed attributes' signature, their contentType against the content's, and the message digest
// (or, without signed attributes, the signature over the content digest). `digests` has been fed
// the whole content.
std::optional<Verdict> check_signature(CMS_ContentInfo* cms, CMS_SignerInfo* si, BIO* digests);
// The digest, the signature algorithm's digest (RSA-PSS: its hash parameter) and the signer's key.
std::optional<Verdict> check_algorithms(CMS_SignerInfo* si, const AlgorithmPolicy& policy);

// The trust store of the anchors: partial chains allowed, so any anchor ends a chain.
StorePtr trust_store(const std::vector<X509Ptr>& anchors);
// s.cert's chain for S/MIME signing at opt.at_time; sets s.chain_ok and s.chain_error; then the
// policy over the validated chain.
std::optional<Verdict> check_chain(SignerResult& s, X509_STORE* store, STACK_OF(X509) * untrusted,
                                   const VerifyOptions& opt);

}  // namespace smime::detail
