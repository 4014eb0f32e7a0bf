package controlplane

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tcpListenState is the st column value of a listening socket in /proc/net/tcp{,6}.
const tcpListenState = "0A"

// ListeningAddresses returns the local address of every TCP socket in the LISTEN state that
// process pid holds open, read from /proc. It covers IPv4 and IPv6 but not UDP, which no
// control plane component uses.
func ListeningAddresses(pid int) ([]netip.AddrPort, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}

	var addresses []netip.AddrPort
	for _, table := range []string{"tcp", "tcp6"} {
		path := filepath.Join("/proc", strconv.Itoa(pid), "net", table)
		found, err := listeningSockets(path, inodes)
		if err != nil {
			return nil, err
		}
		addresses = append(addresses, found...)
	}
	return addresses, nil
}

// socketInodes returns the inode numbers of the sockets among pid's open file descriptors.
func socketInodes(pid int) (map[string]bool, error) {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, fmt.Errorf("list file descriptors: %s: %w", fdDir, err)
	}

	inodes := map[string]bool{}
	for _, entry := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, entry.Name()))
		if err != nil {
			continue // The descriptor was closed between ReadDir and Readlink.
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return inodes, nil
}

func listeningSockets(path string, inodes map[string]bool) ([]netip.AddrPort, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read socket table: %w", err)
	}
	defer file.Close()

	var addresses []netip.AddrPort
	scanner := bufio.NewScanner(file)
	scanner.Scan() // The first line holds column names.
	for scanner.Scan() {
		// Columns: sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid
		// timeout inode ...
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 || fields[3] != tcpListenState || !inodes[fields[9]] {
			continue
		}
		address, err := parseProcAddress(fields[1])
		if err != nil {
			return nil, fmt.Errorf("parse local address: in %s: %w", path, err)
		}
		addresses = append(addresses, address)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read socket table: %s: %w", path, err)
	}
	return addresses, nil
}

// parseProcAddress parses "0100007F:1F90" (IPv4) or a 32-digit IPv6 form. The kernel prints
// each 32-bit word of the address in host byte order, which is little-endian on the machines
// this harness supports (amd64, arm64), and the port in big-endian hex.
func parseProcAddress(text string) (netip.AddrPort, error) {
	hexAddress, hexPort, ok := strings.Cut(text, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("missing port: %q", text)
	}
	raw, err := hex.DecodeString(hexAddress)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("invalid address: %q", text)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid port: %q: %w", text, err)
	}

	for word := 0; word < len(raw); word += 4 {
		value := binary.LittleEndian.Uint32(raw[word:])
		binary.BigEndian.PutUint32(raw[word:], value)
	}
	address, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(address.Unmap(), uint16(port)), nil
}
