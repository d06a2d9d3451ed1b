// bench-copy-milter: the floor of a milter's cost to Postfix, for bench/postfix. It does no S/MIME: in
// "body" mode it collects the body and gives it back unchanged with smfi_replacebody (as a signing
// milter must, and Postfix then moves the body twice and rewrites its queue file), and adds a header;
// in "header" mode it only adds a header (Postfix sends no body). Collecting steps get no reply
// (SMFIP_NR_*), as smime-milter negotiates them.
//   bench-copy-milter body|header unix:/path/to.sock
#include <libmilter/mfapi.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

bool g_body_mode = true;

std::string* message_of(SMFICTX* ctx) { return static_cast<std::string*>(smfi_getpriv(ctx)); }

void drop_message(SMFICTX* ctx) {
  delete message_of(ctx);
  smfi_setpriv(ctx, nullptr);
}

sfsistat on_negotiate(SMFICTX*, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
  *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGBODY);
  unsigned long want = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA |
                       SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_MAIL;
  want |= g_body_mode ? SMFIP_NR_BODY : SMFIP_NOBODY;
  *pf1 = f1 & want;
  *pf2 = *pf3 = 0;
  return SMFIS_CONTINUE;
}

sfsistat on_mail(SMFICTX* ctx, char**) {
  drop_message(ctx);
  smfi_setpriv(ctx, new std::string);
  return SMFIS_CONTINUE;
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t len) {
  if (std::string* m = message_of(ctx)) m->append(reinterpret_cast<char*>(chunk), len);
  return SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx) {
  char name[] = "X-Bench-Copy", value[] = "yes";
  if (smfi_addheader(ctx, name, value) != MI_SUCCESS) return SMFIS_TEMPFAIL;
  if (std::string* m = message_of(ctx); g_body_mode && m != nullptr) {
    constexpr std::size_t kChunk = 65535;
    for (std::size_t off = 0; off < m->size(); off += kChunk) {
      const std::size_t n = std::min(kChunk, m->size() - off);
      if (smfi_replacebody(ctx, reinterpret_cast<unsigned char*>(m->data() + off), static_cast<int>(n)) !=
          MI_SUCCESS)
        return SMFIS_TEMPFAIL;
    }
  }
  drop_message(ctx);
  return SMFIS_CONTINUE;
}

sfsistat on_abort(SMFICTX* ctx) {
  drop_message(ctx);
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  drop_message(ctx);
  return SMFIS_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "body") != 0 && std::strcmp(argv[1], "header") != 0)) {
    std::fprintf(stderr, "usage: bench-copy-milter body|header unix:/path/to.sock\n");
    return 2;
  }
  g_body_mode = std::strcmp(argv[1], "body") == 0;
  char name[] = "bench-copy-milter";
  smfiDesc desc{};
  desc.xxfi_name = name;
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGBODY;
  desc.xxfi_envfrom = on_mail;
  desc.xxfi_body = on_body;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_negotiate = on_negotiate;
  if (smfi_register(desc) != MI_SUCCESS || smfi_setconn(argv[2]) != MI_SUCCESS ||
      smfi_opensocket(1) != MI_SUCCESS) {
    std::fprintf(stderr, "bench-copy-milter: cannot listen on %s\n", argv[2]);
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
