# shellcheck shell=bash
# bc.sh — compile and run BcInterop.java (Bouncy Castle) from the interop scripts (sourced, not run).
#
#   bc_missing            prints what is missing to run Bouncy Castle (empty when all is there)
#   bc_compile DIR        compiles BcInterop.java into DIR/classes (javac output in DIR/javac.log)
#   bc_run DIR CMDS OUT   runs the operations of the command file CMDS in one JVM; result lines to OUT,
#                         Java's stack traces to OUT.err (bounded by BC_TIMEOUT seconds, default 120)
#   bc_line OUT LABEL     the result line of LABEL ("LABEL ok ..." or "LABEL fail ..."); status 1 if none
#   bc_ok OUT LABEL       status 0 when LABEL's result is ok
#   bc_field OUT LABEL K  the value of K=... on LABEL's result line (quotes removed)
#   bc_signers OUT LABEL  the "LABEL signer ..." lines of a verify operation
# The operations and their options are described at the top of BcInterop.java.

BC_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BC_JAR_DIR=${BC_JAR_DIR:-/usr/share/java}
BC_JARS="bcmail.jar bcprov.jar bcpkix.jar bcutil.jar javax.mail.jar javax.activation.jar"
BC_CLASSPATH=
for _j in $BC_JARS; do BC_CLASSPATH=${BC_CLASSPATH:+$BC_CLASSPATH:}$BC_JAR_DIR/$_j; done
unset _j
BC_TIMEOUT=${BC_TIMEOUT:-120}

bc_missing() {
  local j missing=
  command -v java > /dev/null || missing="$missing java"
  command -v javac > /dev/null || missing="$missing javac"
  for j in $BC_JARS; do [ -r "$BC_JAR_DIR/$j" ] || missing="$missing $BC_JAR_DIR/$j"; done
  [ -z "$missing" ] || printf '%s (apt-get install default-jdk-headless libbcprov-java libbcpkix-java libbcmail-java)\n' "$missing"
}

bc_compile() {
  mkdir -p "$1/classes"
  timeout -k 5 "$BC_TIMEOUT" javac -Xlint:all,-path -encoding UTF-8 -cp "$BC_CLASSPATH" -d "$1/classes" \
    "$BC_SRC_DIR/BcInterop.java" > "$1/javac.log" 2>&1
}

bc_run() {
  # -Xshare:auto and a small heap keep the start-up short; one JVM runs the whole command file
  timeout -k 5 "$BC_TIMEOUT" java -Xshare:auto -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$BC_CLASSPATH:$1/classes" BcInterop "$2" > "$3" 2> "$3.err"
}

bc_line() { grep -m1 -E "^$2 (ok|fail)( |\$)" "$1"; }
bc_ok() { grep -q -E "^$2 ok( |\$)" "$1"; }
bc_field() {
  bc_line "$1" "$2" | perl -ne 'if (/ \Q'"$3"'\E=("((?:[^"\\]|\\.)*)"|(\S*))/) { print defined $2 ? $2 : $3, "\n"; }'
}
bc_signers() { grep -E "^$2 signer " "$1"; }
