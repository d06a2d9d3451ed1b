// BcInterop — Bouncy Castle (bcprov, bcpkix, bcmail) driven from the interop tests: an independent S/MIME
// implementation that makes and reads messages, many operations in one JVM.
//
// Usage: java -cp BC-JARS:CLASSES BcInterop [COMMAND-FILE]   (no file: standard input)
// One operation per line, `LABEL OP key=value... flag...`; blank lines and lines starting with # are skipped.
// Every operation prints one result line `LABEL ok key=value...` or `LABEL fail reason="..."`; verify also
// prints one `LABEL signer ...` line per SignerInfo before it. A failing operation never stops the others.
// The exit status is 0 unless the command file itself cannot be read (2).
//
// Key material: a PREFIX names PREFIX.pem (certificate), PREFIX.key (PKCS#8 or traditional PEM key) and,
// when present, PREFIX.chain.pem (certificates sent along with a signature).
// Messages: in=/out= are whole RFC 5322 messages (or bare MIME entities). Header fields other than
// Content-* and MIME-Version stay outside; the Content-* fields and the body form the entity that is
// protected, as a mail client does. content=/der= work on the CMS level: exact content bytes, DER out/in.
//
// Operations:
//   sign     (in=MSG | content=FILE) (out=MSG | der=FILE) signer=PREFIX[+sha256|+sha384|+sha512|+sha1][+pss]...
//            [opaque] [nocerts] [certs=PEM]
//            Detached multipart/signed (default) or opaque application/pkcs7-mime (opaque); one SignerInfo
//            per signer= (RSA PKCS#1 v1.5, RSA-PSS with +pss, ECDSA or Ed25519 by the key); certificates of
//            the signers and their chains unless nocerts. With in= and der=: the SignedData alone.
//            Reports micalg= (the multipart/signed parameter) and signers=N.
//   encrypt  (in=MSG | content=FILE) (out=MSG | der=FILE) to=CERT[+oaep|+oaep256]... [cipher=C]
//            C = aes128-cbc, aes192-cbc, aes256-cbc (EnvelopedData, default aes256-cbc) or aes128-gcm,
//            aes256-gcm (AuthEnvelopedData; S/MIME: application/pkcs7-mime; smime-type=authEnveloped-data).
//            RSA certificates: key transport (PKCS#1 v1.5; +oaep RSAES-OAEP SHA-1, +oaep256 SHA-256);
//            EC certificates: ECDH (dhSinglePass-stdDH-sha256kdf, AES-256 key wrap).
//   decrypt  (in=MSG | der=FILE) key=PREFIX out=FILE
//            Writes the decrypted content, byte for byte. Reports type=enveloped|auth-enveloped, cipher=,
//            kek= (key encryption of the recipient info used), recipients=N.
//   verify   (in=MSG | der=FILE [content=FILE]) [ca=PEM] [certs=PEM] [out=FILE]
//            Detached (multipart/signed) or opaque. Every SignerInfo is checked: signature, and the chain up
//            to ca= (PKIX, no revocation) when given. ok when every signer verifies; out= gets the signed
//            content exactly as it was signed (only on ok). Reports detached=yes|no signers=N
//            emails=E1,E2 content-type=OID; each signer line: index= email= cn= digest= sig= signature=
//            good|bad chain=ok|none|"why".
//   info     (in=MSG | der=FILE) — the CMS content type (type=signed|enveloped|auth-enveloped|...).
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.mail.Session;
import javax.mail.internet.MimeBodyPart;
import javax.mail.internet.MimeMultipart;
import javax.mail.util.ByteArrayDataSource;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.smime.SMIMECapabilitiesAttribute;
import org.bouncycastle.asn1.smime.SMIMECapability;
import org.bouncycastle.asn1.smime.SMIMECapabilityVector;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.CMSTypedData;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.KeyAgreeRecipientInformation;
import org.bouncycastle.cms.Recipient;
import org.bouncycastle.cms.RecipientInfoGenerator;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.SignerInfoGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.mail.smime.SMIMEEnvelopedGenerator;
import org.bouncycastle.mail.smime.SMIMESigned;
import org.bouncycastle.mail.smime.SMIMESignedGenerator;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.util.Store;

public final class BcInterop {
  private static final String BC = "BC";
  private static final Session SESSION = Session.getInstance(new Properties());

  /** A failure of one operation, with the reason printed on its result line. */
  static final class OpError extends Exception {
    private static final long serialVersionUID = 1L;

    OpError(String message) {
      super(message);
    }
  }

  // ---- command lines ---------------------------------------------------------------------------------

  /** The key=value options and bare flags of one operation. */
  static final class Opts {
    final Map<String, List<String>> values = new LinkedHashMap<>();

    static Opts parse(List<String> tokens) {
      Opts o = new Opts();
      for (String t : tokens) {
        int eq = t.indexOf('=');
        String k = eq < 0 ? t : t.substring(0, eq);
        String v = eq < 0 ? "" : t.substring(eq + 1);
        o.values.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
      }
      return o;
    }

    boolean has(String k) {
      return values.containsKey(k);
    }

    List<String> all(String k) {
      return values.getOrDefault(k, Collections.emptyList());
    }

    String get(String k) throws OpError {
      List<String> v = all(k);
      if (v.size() > 1) throw new OpError(k + "= given more than once");
      return v.isEmpty() ? null : v.get(0);
    }

    String need(String k) throws OpError {
      String v = get(k);
      if (v == null || v.isEmpty()) throw new OpError(k + "= is required");
      return v;
    }
  }

  /** Collects the key=value pairs of a result line. */
  static final class Report {
    final StringBuilder sb = new StringBuilder();

    Report put(String k, Object v) {
      String s = String.valueOf(v);
      boolean plain = !s.isEmpty() && s.chars().noneMatch(c -> c <= ' ' || c == '"' || c == '\\');
      sb.append(' ').append(k).append('=').append(plain ? s : quote(s));
      return this;
    }

    @Override
    public String toString() {
      return sb.toString();
    }
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\');
      b.append(c < ' ' ? ' ' : c);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    Security.addProvider(new BouncyCastleProvider());
    List<String> lines;
    try (Reader r =
        args.length > 0
            ? new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)
            : new InputStreamReader(System.in, StandardCharsets.UTF_8)) {
      lines = readLines(r);
    } catch (IOException e) {
      System.err.println("BcInterop: cannot read the command file: " + e.getMessage());
      System.exit(2);
      return;
    }
    for (String line : lines) runLine(line.trim());
    System.out.flush();
  }

  static List<String> readLines(Reader r) throws IOException {
    StringBuilder sb = new StringBuilder();
    char[] buf = new char[8192];
    for (int n; (n = r.read(buf)) > 0; ) sb.append(buf, 0, n);
    List<String> out = new ArrayList<>();
    for (String l : sb.toString().split("\n")) out.add(l);
    return out;
  }

  static void runLine(String line) {
    if (line.isEmpty() || line.startsWith("#")) return;
    List<String> tokens = new ArrayList<>(List.of(line.split("\\s+")));
    String label = tokens.remove(0);
    if (tokens.isEmpty()) {
      System.out.println(label + " fail reason=\"no operation\"");
      return;
    }
    String op = tokens.remove(0);
    try {
      Opts o = Opts.parse(tokens);
      String result;
      switch (op) {
        case "sign":
          result = sign(o);
          break;
        case "encrypt":
          result = encrypt(o);
          break;
        case "decrypt":
          result = decrypt(o);
          break;
        case "verify":
          result = verify(label, o);
          break;
        case "info":
          result = info(o);
          break;
        default:
          throw new OpError("unknown operation " + op);
      }
      System.out.println(label + " ok" + result);
    } catch (OpError e) {
      System.out.println(label + " fail reason=" + quote(e.getMessage()));
    } catch (Exception e) {
      System.out.println(label + " fail reason=" + quote(e.getClass().getSimpleName() + ": " + e.getMessage()));
      System.err.println(label + ":");
      e.printStackTrace();
    }
    System.out.flush();
  }

  // ---- files and key material ---------------------------------------------------------------------------

  static byte[] read(String path) throws IOException {
    return Files.readAllBytes(new File(path).toPath());
  }

  static void write(String path, byte[] data) throws IOException {
    Files.write(new File(path).toPath(), data);
  }

  static List<X509Certificate> loadCerts(String path) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509", BC);
    List<X509Certificate> out = new ArrayList<>();
    try (InputStream in = new FileInputStream(path)) {
      for (java.security.cert.Certificate c : cf.generateCertificates(in)) out.add((X509Certificate) c);
    }
    if (out.isEmpty()) throw new OpError("no certificate in " + path);
    return out;
  }

  static X509Certificate loadCert(String path) throws Exception {
    return loadCerts(path).get(0);
  }

  static PrivateKey loadKey(String path) throws Exception {
    try (PEMParser p = new PEMParser(new InputStreamReader(new FileInputStream(path), StandardCharsets.US_ASCII))) {
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider(BC);
      for (Object o; (o = p.readObject()) != null; ) {
        if (o instanceof PrivateKeyInfo) return conv.getPrivateKey((PrivateKeyInfo) o);
        if (o instanceof PEMKeyPair) return conv.getKeyPair((PEMKeyPair) o).getPrivate();
      }
    }
    throw new OpError("no private key in " + path);
  }

  /** PREFIX.pem, PREFIX.key and the certificates to send along (PREFIX.chain.pem if present). */
  static final class Identity {
    X509Certificate cert;
    PrivateKey key;
    List<X509Certificate> chain = new ArrayList<>();

    static Identity load(String prefix) throws Exception {
      Identity id = new Identity();
      id.cert = loadCert(prefix + ".pem");
      id.key = loadKey(prefix + ".key");
      File chain = new File(prefix + ".chain.pem");
      id.chain = chain.exists() ? loadCerts(chain.getPath()) : List.of(id.cert);
      return id;
    }
  }

  // ---- messages ------------------------------------------------------------------------------------------

  /** A message split as a mail client sees it: routing header fields, and the MIME entity. */
  static final class Message {
    final List<String> routing = new ArrayList<>(); // unfolded only as far as the raw bytes go
    byte[] entity; // Content-* fields, the empty line and the body, exactly as in the file

    static Message parse(byte[] raw) {
      Message m = new Message();
      int headEnd = headerEnd(raw);
      ByteArrayOutputStream content = new ByteArrayOutputStream();
      List<String> fields = splitFields(new String(raw, 0, headEnd, StandardCharsets.ISO_8859_1));
      for (String f : fields) {
        String name = f.contains(":") ? f.substring(0, f.indexOf(':')).trim().toLowerCase() : "";
        byte[] b = f.getBytes(StandardCharsets.ISO_8859_1);
        if (name.startsWith("content-")) content.write(b, 0, b.length);
        else if (!name.equals("mime-version")) m.routing.add(f);
      }
      content.write(raw, headEnd, raw.length - headEnd); // the empty line and the body
      m.entity = content.toByteArray();
      return m;
    }

    /** Offset of the empty line that ends the header block (the file's length if there is none). */
    static int headerEnd(byte[] raw) {
      if (raw.length > 0 && (raw[0] == '\n' || (raw[0] == '\r' && raw.length > 1 && raw[1] == '\n'))) return 0;
      for (int i = 0; i < raw.length; i++) {
        if (raw[i] != '\n') continue;
        int j = i + 1;
        if (j < raw.length && raw[j] == '\n') return j;
        if (j + 1 < raw.length && raw[j] == '\r' && raw[j + 1] == '\n') return j;
      }
      return raw.length;
    }

    static List<String> splitFields(String head) {
      List<String> out = new ArrayList<>();
      for (String line : head.split("(?<=\n)")) {
        if (line.isEmpty()) continue;
        if ((line.startsWith(" ") || line.startsWith("\t")) && !out.isEmpty())
          out.set(out.size() - 1, out.get(out.size() - 1) + line);
        else out.add(line);
      }
      return out;
    }

    MimeBodyPart part() throws Exception {
      return new MimeBodyPart(new ByteArrayInputStream(entity));
    }

    /** The routing fields (CRLF line ends), MIME-Version, then a new entity. */
    byte[] with(byte[] newEntity) throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (String f : routing) out.write(f.replaceAll("\r?\n", "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write("MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(newEntity);
      return out.toByteArray();
    }
  }

  static byte[] bytesOf(MimeBodyPart p) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.writeTo(out);
    return out.toByteArray();
  }

  static byte[] bytesOf(MimeMultipart mm) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(("Content-Type: " + mm.getContentType() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    mm.writeTo(out);
    return out.toByteArray();
  }

  /** An application/pkcs7-mime entity carrying DER, as BC's generators label it. */
  static byte[] p7mEntity(byte[] der, String smimeType) {
    String b64 = java.util.Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    String s =
        "Content-Type: application/pkcs7-mime; name=\"smime.p7m\"; smime-type=" + smimeType + "\r\n"
            + "Content-Transfer-Encoding: base64\r\n"
            + "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
            + "\r\n"
            + b64
            + "\r\n";
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** The DER inside an S/MIME entity (decoded by its Content-Transfer-Encoding), or der=FILE. */
  static byte[] derInput(Opts o) throws Exception {
    String der = o.get("der");
    if (der != null) return read(der);
    MimeBodyPart part = Message.parse(read(o.need("in"))).part();
    try (InputStream in = part.getInputStream()) {
      return in.readAllBytes();
    }
  }

  // ---- sign ----------------------------------------------------------------------------------------------

  static final Map<String, String> DIGEST_NAMES =
      Map.of("sha1", "SHA1", "sha256", "SHA256", "sha384", "SHA384", "sha512", "SHA512");

  static SignerInfoGenerator signerInfo(String spec, List<X509Certificate> certs, boolean sendCerts)
      throws Exception {
    String[] parts = spec.split("\\+");
    Identity id = Identity.load(parts[0]);
    String digest = "SHA256";
    boolean pss = false;
    for (int i = 1; i < parts.length; i++) {
      if (parts[i].equals("pss")) pss = true;
      else if (DIGEST_NAMES.containsKey(parts[i])) digest = DIGEST_NAMES.get(parts[i]);
      else throw new OpError("unknown signer option +" + parts[i]);
    }
    String keyAlg = id.key.getAlgorithm();
    String alg;
    if (keyAlg.equals("RSA")) alg = digest + (pss ? "withRSAandMGF1" : "withRSA");
    else if (keyAlg.equals("EC") || keyAlg.equals("ECDSA")) alg = digest + "withECDSA";
    else if (keyAlg.equals("Ed25519") || keyAlg.equals("EdDSA")) alg = "Ed25519";
    else throw new OpError("no signature algorithm for a " + keyAlg + " key");
    if (sendCerts) for (X509Certificate c : id.chain) if (!certs.contains(c)) certs.add(c);
    return new JcaSimpleSignerInfoGeneratorBuilder()
        .setProvider(BC)
        .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(capabilities()))
        .build(alg, id.key, id.cert);
  }

  /** The SMIMECapabilities attribute a BC-based client sends: AES-GCM and AES-CBC. */
  static AttributeTable capabilities() {
    SMIMECapabilityVector caps = new SMIMECapabilityVector();
    caps.addCapability(CMSAlgorithm.AES256_GCM);
    caps.addCapability(CMSAlgorithm.AES128_GCM);
    caps.addCapability(SMIMECapability.aES256_CBC);
    caps.addCapability(SMIMECapability.aES128_CBC);
    ASN1EncodableVector v = new ASN1EncodableVector();
    v.add(new SMIMECapabilitiesAttribute(caps));
    return new AttributeTable(v);
  }

  static String sign(Opts o) throws Exception {
    List<String> signers = o.all("signer");
    if (signers.isEmpty()) throw new OpError("signer= is required");
    boolean opaque = o.has("opaque");
    boolean sendCerts = !o.has("nocerts");
    List<X509Certificate> certs = new ArrayList<>();
    List<SignerInfoGenerator> gens = new ArrayList<>();
    for (String s : signers) gens.add(signerInfo(s, certs, sendCerts));
    if (o.get("certs") != null) certs.addAll(loadCerts(o.get("certs")));
    Report r = new Report().put("signers", gens.size());
    if (o.get("content") != null) {
      CMSSignedDataGenerator g = new CMSSignedDataGenerator();
      for (SignerInfoGenerator sig : gens) g.addSignerInfoGenerator(sig);
      if (!certs.isEmpty()) g.addCertificates(new JcaCertStore(certs));
      CMSSignedData sd = g.generate(new CMSProcessableByteArray(read(o.get("content"))), opaque);
      write(o.need("der"), sd.getEncoded());
      return r.toString();
    }
    Message m = Message.parse(read(o.need("in")));
    SMIMESignedGenerator g = new SMIMESignedGenerator();
    for (SignerInfoGenerator sig : gens) g.addSignerInfoGenerator(sig);
    if (!certs.isEmpty()) g.addCertificates(new JcaCertStore(certs));
    byte[] entity;
    byte[] der;
    if (opaque) {
      MimeBodyPart p = g.generateEncapsulated(m.part());
      entity = bytesOf(p);
      try (InputStream in = p.getInputStream()) {
        der = in.readAllBytes();
      }
    } else {
      MimeMultipart mm = g.generate(m.part());
      entity = bytesOf(mm);
      r.put("micalg", new javax.mail.internet.ContentType(mm.getContentType()).getParameter("micalg"));
      try (InputStream in = ((MimeBodyPart) mm.getBodyPart(1)).getInputStream()) {
        der = in.readAllBytes();
      }
    }
    if (o.get("out") != null) write(o.get("out"), m.with(entity));
    if (o.get("der") != null) write(o.get("der"), der);
    return r.toString();
  }

  // ---- encrypt -------------------------------------------------------------------------------------------

  static final Map<String, ASN1ObjectIdentifier> CIPHERS = new LinkedHashMap<>();
  static final Map<String, String> OID_NAMES = new HashMap<>();

  static {
    CIPHERS.put("aes128-cbc", CMSAlgorithm.AES128_CBC);
    CIPHERS.put("aes192-cbc", CMSAlgorithm.AES192_CBC);
    CIPHERS.put("aes256-cbc", CMSAlgorithm.AES256_CBC);
    CIPHERS.put("aes128-gcm", CMSAlgorithm.AES128_GCM);
    CIPHERS.put("aes256-gcm", CMSAlgorithm.AES256_GCM);
    for (Map.Entry<String, ASN1ObjectIdentifier> e : CIPHERS.entrySet())
      OID_NAMES.put(e.getValue().getId(), e.getKey());
    OID_NAMES.put("1.2.840.113549.3.7", "des-ede3-cbc");
    OID_NAMES.put("2.16.840.1.101.3.4.1.26", "aes192-gcm");
    OID_NAMES.put("1.2.840.113549.1.1.1", "rsaEncryption");
    OID_NAMES.put("1.2.840.113549.1.1.7", "rsaesOaep");
    OID_NAMES.put("1.3.133.16.840.63.0.2", "dhSinglePass-stdDH-sha1kdf");
    OID_NAMES.put("1.3.132.1.11.0", "dhSinglePass-stdDH-sha224kdf");
    OID_NAMES.put("1.3.132.1.11.1", "dhSinglePass-stdDH-sha256kdf");
    OID_NAMES.put("1.3.132.1.11.2", "dhSinglePass-stdDH-sha384kdf");
    OID_NAMES.put("1.3.132.1.11.3", "dhSinglePass-stdDH-sha512kdf");
    OID_NAMES.put("1.2.840.113549.1.7.1", "data");
    OID_NAMES.put("1.2.840.113549.1.7.2", "signed");
    OID_NAMES.put("1.2.840.113549.1.7.3", "enveloped");
    OID_NAMES.put("1.2.840.113549.1.9.16.1.23", "auth-enveloped");
    OID_NAMES.put("1.2.840.113549.1.9.16.1.9", "compressed");
    OID_NAMES.put("1.2.840.113549.1.1.10", "rsassa-pss");
    OID_NAMES.put("1.2.840.10045.2.1", "ecdsa");
    OID_NAMES.put("1.2.840.10045.4.3.2", "ecdsa");
    OID_NAMES.put("1.2.840.10045.4.3.3", "ecdsa");
    OID_NAMES.put("1.2.840.10045.4.3.4", "ecdsa");
    OID_NAMES.put("1.3.101.112", "ed25519");
    OID_NAMES.put("1.2.840.113549.1.1.11", "rsaEncryption");
    OID_NAMES.put("1.2.840.113549.1.1.12", "rsaEncryption");
    OID_NAMES.put("1.2.840.113549.1.1.13", "rsaEncryption");
    OID_NAMES.put("1.3.14.3.2.26", "sha1");
    OID_NAMES.put("2.16.840.1.101.3.4.2.1", "sha256");
    OID_NAMES.put("2.16.840.1.101.3.4.2.2", "sha384");
    OID_NAMES.put("2.16.840.1.101.3.4.2.3", "sha512");
    OID_NAMES.put("1.2.840.113549.2.5", "md5");
  }

  static String oidName(String oid) {
    return OID_NAMES.getOrDefault(oid, oid);
  }

  static List<RecipientInfoGenerator> recipientInfos(List<String> specs) throws Exception {
    List<RecipientInfoGenerator> out = new ArrayList<>();
    for (String spec : specs) {
      String[] parts = spec.split("\\+");
      X509Certificate cert = loadCert(parts[0]);
      String opt = parts.length > 1 ? parts[1] : "";
      String keyAlg = cert.getPublicKey().getAlgorithm();
      if (keyAlg.equals("EC") || keyAlg.equals("ECDSA")) {
        out.add(ecdhRecipient(cert));
      } else if (opt.isEmpty()) {
        out.add(new JceKeyTransRecipientInfoGenerator(cert).setProvider(BC));
      } else {
        OAEPParameterSpec spec2 =
            opt.equals("oaep256")
                ? new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT)
                : OAEPParameterSpec.DEFAULT;
        if (!opt.equals("oaep") && !opt.equals("oaep256")) throw new OpError("unknown recipient option +" + opt);
        out.add(
            new JceKeyTransRecipientInfoGenerator(
                    cert,
                    new JcaAlgorithmParametersConverter()
                        .getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, spec2))
                .setProvider(BC));
      }
    }
    if (out.isEmpty()) throw new OpError("to= is required");
    return out;
  }

  /** ECDH with an ephemeral key on the recipient's curve (RFC 5753), AES-256 key wrap. */
  static RecipientInfoGenerator ecdhRecipient(X509Certificate cert) throws Exception {
    KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", BC);
    kpg.initialize(((ECPublicKey) cert.getPublicKey()).getParams());
    KeyPair eph = kpg.generateKeyPair();
    return new JceKeyAgreeRecipientInfoGenerator(
            CMSAlgorithm.ECDH_SHA256KDF, eph.getPrivate(), eph.getPublic(), CMSAlgorithm.AES256_WRAP)
        .addRecipient(cert)
        .setProvider(BC);
  }

  static String encrypt(Opts o) throws Exception {
    String cipherName = o.get("cipher") == null ? "aes256-cbc" : o.get("cipher");
    ASN1ObjectIdentifier cipher = CIPHERS.get(cipherName);
    if (cipher == null) throw new OpError("unknown cipher " + cipherName);
    boolean gcm = cipherName.endsWith("-gcm");
    List<RecipientInfoGenerator> ris = recipientInfos(o.all("to"));
    OutputEncryptor enc = new JceCMSContentEncryptorBuilder(cipher).setProvider(BC).build();
    Report r = new Report().put("cipher", cipherName).put("recipients", ris.size());
    if (o.get("content") != null) {
      write(o.need("der"), encryptCms(read(o.get("content")), ris, enc, gcm));
      return r.toString();
    }
    Message m = Message.parse(read(o.need("in")));
    byte[] entity;
    byte[] der;
    if (gcm) {
      // bcmail has no S/MIME generator for AuthEnvelopedData: the CMS level, over the entity as written.
      der = encryptCms(bytesOf(m.part()), ris, enc, true);
      entity = p7mEntity(der, "authEnveloped-data");
    } else {
      SMIMEEnvelopedGenerator g = new SMIMEEnvelopedGenerator();
      for (RecipientInfoGenerator ri : ris) g.addRecipientInfoGenerator(ri);
      MimeBodyPart p = g.generate(m.part(), enc);
      entity = bytesOf(p);
      try (InputStream in = p.getInputStream()) {
        der = in.readAllBytes();
      }
    }
    if (o.get("out") != null) write(o.get("out"), m.with(entity));
    if (o.get("der") != null) write(o.get("der"), der);
    return r.toString();
  }

  static byte[] encryptCms(byte[] content, List<RecipientInfoGenerator> ris, OutputEncryptor enc, boolean gcm)
      throws Exception {
    if (gcm) {
      CMSAuthEnvelopedDataGenerator g = new CMSAuthEnvelopedDataGenerator();
      for (RecipientInfoGenerator ri : ris) g.addRecipientInfoGenerator(ri);
      return g.generate(new CMSProcessableByteArray(content), (OutputAEADEncryptor) enc).getEncoded();
    }
    CMSEnvelopedDataGenerator g = new CMSEnvelopedDataGenerator();
    for (RecipientInfoGenerator ri : ris) g.addRecipientInfoGenerator(ri);
    return g.generate(new CMSProcessableByteArray(content), enc).getEncoded();
  }

  // ---- decrypt -------------------------------------------------------------------------------------------

  static String decrypt(Opts o) throws Exception {
    byte[] der = derInput(o);
    ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der));
    Identity id = Identity.load(o.need("key"));
    X509CertificateHolder holder = new X509CertificateHolder(id.cert.getEncoded());
    RecipientInformationStore store;
    String cipherOid;
    boolean auth;
    if (ci.getContentType().equals(CMSObjectIdentifiers.envelopedData)) {
      CMSEnvelopedData ed = new CMSEnvelopedData(ci);
      store = ed.getRecipientInfos();
      cipherOid = ed.getEncryptionAlgOID();
      auth = false;
    } else if (ci.getContentType().equals(CMSObjectIdentifiers.authEnvelopedData)) {
      CMSAuthEnvelopedData ad = new CMSAuthEnvelopedData(ci);
      store = ad.getRecipientInfos();
      cipherOid =
          org.bouncycastle.asn1.cms.AuthEnvelopedData.getInstance(ci.getContent())
              .getAuthEncryptedContentInfo()
              .getContentEncryptionAlgorithm()
              .getAlgorithm()
              .getId();
      auth = true;
    } else {
      throw new OpError("not enveloped: content type " + oidName(ci.getContentType().getId()));
    }
    RecipientInformation ri = null;
    for (RecipientInformation x : store.getRecipients()) if (matches(x, holder)) ri = x;
    if (ri == null) throw new OpError("no recipient info for " + id.cert.getSubjectX500Principal());
    Recipient recipient;
    if (ri instanceof KeyAgreeRecipientInformation) recipient = new JceKeyAgreeEnvelopedRecipient(id.key).setProvider(BC);
    else if (auth) recipient = new JceKeyTransAuthEnvelopedRecipient(id.key).setProvider(BC);
    else recipient = new JceKeyTransEnvelopedRecipient(id.key).setProvider(BC);
    byte[] plain = ri.getContent(recipient);
    write(o.need("out"), plain);
    return new Report()
        .put("type", auth ? "auth-enveloped" : "enveloped")
        .put("cipher", oidName(cipherOid))
        .put("kek", oidName(ri.getKeyEncryptionAlgOID()))
        .put("recipients", store.size())
        .put("bytes", plain.length)
        .toString();
  }

  @SuppressWarnings("unchecked") // RecipientId is a raw Selector
  static boolean matches(RecipientInformation ri, X509CertificateHolder cert) {
    return ri.getRID().match(cert);
  }

  // ---- verify --------------------------------------------------------------------------------------------

  static String verify(String label, Opts o) throws Exception {
    CMSSignedData sd;
    boolean detached;
    if (o.get("der") != null) {
      byte[] der = read(o.get("der"));
      detached = o.get("content") != null;
      sd = detached ? new CMSSignedData(new CMSProcessableByteArray(read(o.get("content"))), der) : new CMSSignedData(der);
    } else {
      MimeBodyPart part = Message.parse(read(o.need("in"))).part();
      String type = new javax.mail.internet.ContentType(part.getContentType()).getBaseType().toLowerCase();
      detached = type.equals("multipart/signed");
      if (detached) {
        byte[] body;
        try (InputStream in = part.getRawInputStream()) {
          body = in.readAllBytes();
        }
        sd = new SMIMESigned(new MimeMultipart(new ByteArrayDataSource(body, part.getContentType())));
      } else {
        sd = new SMIMESigned(part);
      }
    }
    List<X509Certificate> pool = new ArrayList<>();
    JcaX509CertificateConverter conv = new JcaX509CertificateConverter().setProvider(BC);
    Store<X509CertificateHolder> carried = sd.getCertificates();
    for (X509CertificateHolder h : carried.getMatches(null)) pool.add(conv.getCertificate(h));
    if (o.get("certs") != null) pool.addAll(loadCerts(o.get("certs")));
    List<X509Certificate> anchors = o.get("ca") == null ? null : loadCerts(o.get("ca"));

    List<String> emails = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    int index = 0;
    Collection<SignerInformation> signers = sd.getSignerInfos().getSigners();
    for (SignerInformation si : signers) {
      Report r = new Report().put("index", index);
      String problem = checkSigner(si, pool, anchors, r, emails);
      if (problem != null) problems.add("signer " + index + ": " + problem);
      System.out.println(label + " signer" + r);
      index++;
    }
    if (signers.isEmpty()) problems.add("no SignerInfo");
    Report r = new Report()
        .put("detached", detached ? "yes" : "no")
        .put("signers", signers.size())
        .put("emails", emails.isEmpty() ? "-" : String.join(",", emails))
        .put("content-type", oidName(sd.getSignedContentTypeOID()));
    if (!problems.isEmpty()) throw new OpError(String.join("; ", problems) + r);
    if (o.get("out") != null) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      CMSTypedData content = sd.getSignedContent();
      content.write(out);
      write(o.get("out"), out.toByteArray());
      r.put("bytes", out.size());
    }
    return r.toString();
  }

  /** Checks one SignerInfo; fills its report; returns null when it verifies, else why not. */
  static String checkSigner(
      SignerInformation si, List<X509Certificate> pool, List<X509Certificate> anchors, Report r, List<String> emails)
      throws Exception {
    r.put("digest", oidName(si.getDigestAlgOID())).put("sig", oidName(si.getEncryptionAlgOID()));
    X509Certificate cert = null;
    for (X509Certificate c : pool)
      if (si.getSID().match(new X509CertificateHolder(c.getEncoded()))) cert = c;
    if (cert == null) {
      r.put("email", "-").put("signature", "unknown").put("chain", "none");
      return "signer certificate not found";
    }
    String email = emailOf(cert);
    if (email != null) emails.add(email);
    r.put("email", email == null ? "-" : email).put("cn", cnOf(cert));
    boolean good;
    String why = null;
    try {
      good = si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert));
    } catch (Exception e) {
      good = false;
      why = e.getMessage();
    }
    r.put("signature", good ? "good" : "bad");
    String chain = anchors == null ? "none" : chainProblem(cert, pool, anchors);
    r.put("chain", chain == null ? "ok" : chain);
    if (!good) return "signature does not verify" + (why == null ? "" : " (" + why + ")");
    if (chain != null && anchors != null) return "chain: " + chain;
    return null;
  }

  /** null when cert chains up to one of the anchors (PKIX, no revocation checking), else why not. */
  static String chainProblem(X509Certificate cert, List<X509Certificate> pool, List<X509Certificate> anchors) {
    try {
      java.util.Set<TrustAnchor> ta = new java.util.HashSet<>();
      for (X509Certificate a : anchors) ta.add(new TrustAnchor(a, null));
      X509CertSelector target = new X509CertSelector();
      target.setCertificate(cert);
      PKIXBuilderParameters p = new PKIXBuilderParameters(ta, target);
      p.setRevocationEnabled(false);
      List<X509Certificate> all = new ArrayList<>(pool);
      all.add(cert);
      p.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(all), BC));
      CertPathBuilder.getInstance("PKIX", BC).build(p);
      return null;
    } catch (Exception e) {
      return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
  }

  static String emailOf(X509Certificate cert) throws Exception {
    Collection<List<?>> sans = cert.getSubjectAlternativeNames();
    if (sans != null)
      for (List<?> san : sans) if (((Integer) san.get(0)) == 1) return (String) san.get(1);
    return null;
  }

  static String cnOf(X509Certificate cert) throws Exception {
    X500Name name = new X509CertificateHolder(cert.getEncoded()).getSubject();
    RDN[] cn = name.getRDNs(BCStyle.CN);
    return cn.length == 0 ? "-" : IETFUtils.valueToString(cn[0].getFirst().getValue());
  }

  // ---- info ----------------------------------------------------------------------------------------------

  static String info(Opts o) throws Exception {
    byte[] der = derInput(o);
    ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der));
    return new Report().put("type", oidName(ci.getContentType().getId())).put("bytes", der.length).toString();
  }
}
