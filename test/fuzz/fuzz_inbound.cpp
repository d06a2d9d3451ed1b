// The inbound pipeline as a whole on an arbitrary message: milter::process_message with a Job over the
// throwaway gateway of milter_support.hpp (gw-old and gw-new as decryption keys, the test root as
// anchor, no revocation, no side effects), the message split into header fields and body as the
// Filter receives it from the MTA, from an external client (direction inbound); an input whose header
// block is not a list of fields (smime::mime::parse_headers: bad_input) is skipped. Properties:
//  - process_message returns (it never throws: the pipeline's guard catches everything);
//  - the verdict keeps check_verdict's properties: no internal failure, a reply that fits the
//    action, header edits that apply and cannot inject a field, one Authentication-Results of ours,
//    a body with CRLF line ends;
//  - the spool is empty once the verdict is gone.
#include <cstdint>
#include <ctime>
#include <optional>

#include "fuzz_support.hpp"
#include "milter/job.hpp"
#include "milter/pipeline.hpp"
#include "milter_support.hpp"
#include "smime/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Gateway& g = fuzz::gateway();
  {
    std::optional<milter::Message> parsed;
    try {
      parsed = fuzz::message_of(fuzz::as_text(data, size));
    } catch (const smime::Error& e) {  // not a header block an MTA hands over as fields
      fuzz::require(e.kind() == smime::ErrorKind::bad_input, "a header block fails to parse as bad_input");
      return 0;
    }
    const milter::Message& message = *parsed;
    milter::Job job(*g.config, *g.store, nullptr, message, std::time(nullptr));
    job.side_effects = false;
    static milter::KeyCache keys;  // decoded keys and anchors, as the Filter keeps them for the process
    job.use_cache(keys, g.keystore, g.store->generation());
    const milter::Verdict verdict = milter::process_message(job);
    fuzz::require(verdict.log.size() >= 1 && verdict.log.front().text.starts_with("direction=inbound"),
                  "the message is processed as inbound");
    fuzz::check_verdict(*g.config, message, verdict, true);
  }
  fuzz::check_spool_empty(g);
  return 0;
}
