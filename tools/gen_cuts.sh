#!/usr/bin/env bash
# Captures stopped early, cut from the real-implementation captures with Wireshark's
# editcap exactly as S26 was (`editcap -r IN OUT 1-N`: keep frames 1..N). What each cut
# shows is in pcaps/README.md ("cuts/"). Rebuild: bash tools/gen_cuts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
R=pcaps/realpeer
O=pcaps/cuts
mkdir -p "$O"
cut() { editcap -r "$R/$1" "$O/$2" "1-$3"; }
cut S01_happy.pcap          S01_cut_after_dns_query.pcapng    57  # DNS A query, no answer yet
cut S01_happy.pcap          S01_cut_after_clienthello.pcapng  62  # ClientHello to CAPF
cut S01_happy.pcap          S01_cut_mid_itl.pcapng            20  # ITLFile.tlv block 7 of 18
cut S05_capf_filtered.pcap  S05_cut_after_second_syn.pcapng   60  # two SYNs 1 s apart
cut S04_dns_timeout.pcap    S04_cut_after_first_query.pcapng  57  # one DNS query
cut S04_dns_timeout.pcap    S04_cut_after_retry.pcapng        58  # the query and its retry
