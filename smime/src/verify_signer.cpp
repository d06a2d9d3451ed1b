// The checks of one SignerInfo (verify_detail.hpp): supported algorithms, signature, policy, chain.
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>

#include "policy.hpp"
#include "verify_detail.hpp"

namespace smime::detail {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string dotted(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return n > 0 ? std::string(buf) : std::string("unknown");
}

const ASN1_OBJECT* algorithm_oid(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  return obj;
}

X509_ALGOR* digest_algor(CMS_SignerInfo* si) {
  X509_ALGOR* dig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, nullptr);
  return dig;
}

X509_ALGOR* signature_algor(CMS_SignerInfo* si) {
  X509_ALGOR* sig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &sig);
  return sig;
}

// The public-key algorithm of a signature OID: the OID itself for bare key OIDs (rsaEncryption,
// id-ecPublicKey, rsassaPss), else the key half of a combined OID (sha256WithRSAEncryption).
int signature_key_nid(int sig_nid) {
  int md = NID_undef, pk = NID_undef;
  if (OBJ_find_sigid_algs(sig_nid, &md, &pk) == 1 && pk != NID_undef) return pk;
  return sig_nid;
}

// The key algorithms OpenSSL 3's CMS signs and verifies with (EdDSA and others it cannot).
bool cms_key_nid_supported(int nid) {
  return nid == NID_rsaEncryption || nid == NID_rsassaPss || nid == NID_X9_62_id_ecPublicKey ||
         nid == NID_dsa;
}
bool cms_key_supported(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_EC || id == EVP_PKEY_DSA;
}

bool digest_available(int md_nid) {
  if (md_nid == NID_undef) return false;
  MdPtr md(EVP_MD_fetch(nullptr, OBJ_nid2sn(md_nid), nullptr));
  ERR_clear_error();
  return md != nullptr;
}

Verdict unsupported(std::string name) { return {VerifyStatus::unsupported, "unsupported algorithm " + name}; }

// The digest of an RSASSA-PSS signature algorithm's parameters (SHA-1 when absent, RFC 4055).
int pss_hash_nid(const X509_ALGOR* sig) {
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(nullptr, &ptype, &pval, sig);
  if (ptype != V_ASN1_SEQUENCE) return NID_sha1;
  const auto* seq = static_cast<const ASN1_STRING*>(pval);
  const unsigned char* p = ASN1_STRING_get0_data(seq);
  using PssPtr = std::unique_ptr<RSA_PSS_PARAMS, OsslDeleter<RSA_PSS_PARAMS_free>>;
  PssPtr params(d2i_RSA_PSS_PARAMS(nullptr, &p, ASN1_STRING_length(seq)));
  if (!params) {
    ERR_clear_error();
    return NID_undef;
  }
  if (params->hashAlgorithm == nullptr) return NID_sha1;
  return OBJ_obj2nid(algorithm_oid(params->hashAlgorithm));
}

}  // namespace

ContentDigests::ContentDigests(const std::vector<int>& md_nids) {
  chain_ = take<BioPtr>(BIO_new(BIO_s_null()), "creating a null BIO");
  std::vector<int> done;
  for (int nid : md_nids) {
    if (std::find(done.begin(), done.end(), nid) != done.end()) continue;
    done.push_back(nid);
    const EVP_MD* md = EVP_get_digestbynid(nid);
    if (md == nullptr) throw Error(ErrorKind::crypto, std::string("no digest ") + OBJ_nid2sn(nid));
    BioPtr f = take<BioPtr>(BIO_new(BIO_f_md()), "creating a digest BIO");
    check(static_cast<int>(BIO_set_md(f.get(), md)), "starting a digest");
    BIO_push(f.get(), chain_.release());  // f owns the chain below it now
    chain_ = std::move(f);
  }
}

void ContentDigests::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
    const int n = BIO_write(chain_.get(), bytes.data(), chunk);
    if (n <= 0) throw_openssl(ErrorKind::crypto, "digesting the signed content");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

int signer_digest_nid(CMS_SignerInfo* si) {
  const int nid = OBJ_obj2nid(algorithm_oid(digest_algor(si)));
  int md = NID_undef, pk = NID_undef;
  if (nid != NID_undef && OBJ_find_sigid_algs(nid, &md, &pk) == 1 && md != NID_undef) return md;
  return nid;
}

std::string signer_digest_name(CMS_SignerInfo* si) {
  const int nid = signer_digest_nid(si);
  return nid == NID_undef ? dotted(algorithm_oid(digest_algor(si))) : lower(OBJ_nid2sn(nid));
}

std::string signer_signature_algorithm(CMS_SignerInfo* si) {
  const ASN1_OBJECT* obj = algorithm_oid(signature_algor(si));
  const int nid = OBJ_obj2nid(obj);
  return nid == NID_undef ? dotted(obj) : OBJ_nid2ln(nid);
}

std::optional<Verdict> unsupported_algorithm(CMS_SignerInfo* si) {
  if (!digest_available(signer_digest_nid(si))) return unsupported(signer_digest_name(si));
  const int sig_nid = OBJ_obj2nid(algorithm_oid(signature_algor(si)));
  if (sig_nid == NID_undef || !cms_key_nid_supported(signature_key_nid(sig_nid)))
    return unsupported(signer_signature_algorithm(si));
  EVP_PKEY* key = nullptr;
  CMS_SignerInfo_get0_algs(si, &key, nullptr, nullptr, nullptr);
  if (key != nullptr && !cms_key_supported(key)) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return unsupported(type ? type : "unknown key type");
  }
  return std::nullopt;
}

std::optional<Verdict> check_signature(CMS_ContentInfo* cms, CMS_SignerInfo* si, BIO* digests) {
  // What OpenSSL refuses as unsupported (parameters it cannot use, such as an RSA-PSS mask other than
  // MGF1) is the algorithm's fault, not the signature's.
  auto failed = [si](const std::string& what) {
    const std::string queue = drain_openssl_errors();
    const std::string l = lower(queue);
    if (l.find("unsupported") != std::string::npos || l.find("unknown digest") != std::string::npos)
      return unsupported(signer_signature_algorithm(si) + " (with these parameters)");
    return Verdict{VerifyStatus::bad_signature,
                   "signature does not match the content (" + what + "): " + queue};
  };
  if (CMS_signed_get_attr_count(si) >= 0) {
    if (CMS_SignerInfo_verify(si) != 1) return failed("the signed attributes' signature");
    auto* type = static_cast<ASN1_OBJECT*>(
        CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT));
    if (type != nullptr && OBJ_cmp(type, CMS_get0_eContentType(cms)) != 0)
      return Verdict{VerifyStatus::bad_signature,
                     "signature does not match the content: its contentType attribute is " + dotted(type) +
                         ", the content is " + dotted(CMS_get0_eContentType(cms))};
    if (CMS_SignerInfo_verify_content(si, digests) != 1) return failed("message digest");
  } else if (CMS_SignerInfo_verify_content(si, digests) != 1) {
    return failed("signature over the content digest");
  }
  return std::nullopt;
}

std::optional<Verdict> check_algorithms(CMS_SignerInfo* si, const AlgorithmPolicy& policy) {
  auto weak = [](std::string reason) { return Verdict{VerifyStatus::weak, std::move(reason)}; };
  if (auto w = weak_digest(signer_digest_nid(si), policy)) return weak(*w);
  const X509_ALGOR* sig = signature_algor(si);
  const int sig_nid = OBJ_obj2nid(algorithm_oid(sig));
  int sig_md = NID_undef, pk = NID_undef;
  if (sig_nid == NID_rsassaPss)
    sig_md = pss_hash_nid(sig);
  else
    OBJ_find_sigid_algs(sig_nid, &sig_md, &pk);
  if (auto w = weak_digest(sig_md, policy)) return weak(*w + " in the signature algorithm");
  EVP_PKEY* key = nullptr;
  CMS_SignerInfo_get0_algs(si, &key, nullptr, nullptr, nullptr);
  if (auto w = weak_key(key, policy)) return weak(*w);
  return std::nullopt;
}

StorePtr trust_store(const std::vector<X509Ptr>& anchors) {
  StorePtr store = take<StorePtr>(X509_STORE_new(), "creating a trust store");
  for (const auto& a : anchors) check(X509_STORE_add_cert(store.get(), a.get()), "adding a trust anchor");
  // An anchor that is not self-signed (an intermediate CA, a partner's own certificate) ends a chain.
  check(X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN), "allowing partial chains");
  return store;
}

std::optional<Verdict> check_chain(SignerResult& s, X509_STORE* store, STACK_OF(X509) * untrusted,
                                   const VerifyOptions& opt) {
  StoreCtxPtr ctx = take<StoreCtxPtr>(X509_STORE_CTX_new(), "creating a verification context");
  check(X509_STORE_CTX_init(ctx.get(), store, s.cert.get(), untrusted), "starting chain verification");
  check(X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SMIME_SIGN), "setting the S/MIME purpose");
  if (opt.at_time) X509_STORE_CTX_set_time(ctx.get(), 0, *opt.at_time);
  s.chain_ok = X509_verify_cert(ctx.get()) == 1;
  if (!s.chain_ok) s.chain_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  if (!s.chain_ok) return Verdict{VerifyStatus::untrusted, s.chain_error};
  if (auto w = weak_chain(X509_STORE_CTX_get0_chain(ctx.get()), opt.algorithms))
    return Verdict{VerifyStatus::weak, *w};
  return std::nullopt;
}

}  // namespace smime::detail
