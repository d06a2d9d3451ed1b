#!/usr/bin/perl
# A minimal MTA side of the milter protocol (version 6) over a unix socket, perl-base only, for the daemon
# test: one message in two halves, so that the daemon can be signalled while the message is in flight.
#   milter_client.pl SOCKET GO_FILE
# Negotiates (every step answered), sends connect (from 127.0.0.1), MAIL, RCPT, a header, end of headers
# and a body chunk, prints "begun", waits until GO_FILE exists, then sends end of body and prints each
# reply of the end of message, the last being the verdict: "reply c" (continue), "reply a", "reply r",
# "reply t" or "reply d". Exit 0 when the verdict came, 1 otherwise.
use strict;
use warnings;
use IO::Socket::UNIX;

$| = 1;
my ($path, $go) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect $path: $!\n";

sub send_packet {
    my ($cmd, $data) = @_;
    $data = '' unless defined $data;
    print {$s} pack('N', 1 + length($data)) . $cmd . $data or die "write: $!\n";
}

sub read_exactly {
    my ($n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $r = sysread($s, $buf, $n - length($buf), length($buf));
        die "the milter closed the connection\n" unless $r;
    }
    return $buf;
}

sub read_packet {
    my $len = unpack('N', read_exactly(4));
    my $body = read_exactly($len);
    return (substr($body, 0, 1), substr($body, 1));
}

sub expect_continue {
    my ($what) = @_;
    my ($cmd) = read_packet();
    die "$what: wanted c, got $cmd\n" unless $cmd eq 'c';
}

# version 6, every action, no protocol step left out: each step gets a reply
send_packet('O', pack('NNN', 6, 0x1ff, 0));
my ($cmd) = read_packet();
die "negotiation: got $cmd\n" unless $cmd eq 'O';

send_packet('C', "localhost\0" . '4' . pack('n', 40000) . "127.0.0.1\0");
expect_continue('connect');
send_packet('D', "M" . "i\0" . "QDRAIN1\0");
send_packet('M', "<user\@example.com>\0");
expect_continue('mail');
send_packet('R', "<bob\@example.org>\0");
expect_continue('rcpt');
send_packet('L', "From\0user\@example.com\0");
expect_continue('header From');
send_packet('L', "Subject\0in flight at the stop\0");
expect_continue('header Subject');
send_packet('N');
expect_continue('end of headers');
send_packet('B', "this message began before SIGTERM\r\n");
expect_continue('body');
print "begun\n";

for (my $i = 0; $i < 300 && !-e $go; ++$i) { select(undef, undef, undef, 0.05); }
die "no go file\n" unless -e $go;

send_packet('E');
for (;;) {
    my ($reply) = read_packet();
    print "reply $reply\n";
    if ($reply =~ /^[cartd]$/) {
        send_packet('Q');
        exit 0;
    }
}
