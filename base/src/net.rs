//! Which source addresses count as one stranger for a per-address limit: an IPv4 address, or
//! an IPv6 /64 (what one host is usually given, so walking through its addresses buys nothing).
//! An IPv4-mapped IPv6 address is its IPv4 address.

use std::net::IpAddr;

/// The part of a source address a per-address limit keys on.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum SourceGroup {
	/// One IPv4 address.
	V4([u8; 4]),
	/// The first 64 bits of an IPv6 address.
	V6Prefix([u8; 8]),
}

impl SourceGroup {
	/// The group `ip` belongs to.
	pub fn of(ip: IpAddr) -> SourceGroup {
		let v6 = match ip {
			IpAddr::V4(v4) => return SourceGroup::V4(v4.octets()),
			IpAddr::V6(v6) => v6,
		};
		if let Some(v4) = v6.to_ipv4_mapped() {
			return SourceGroup::V4(v4.octets());
		}
		let mut prefix = [0u8; 8];
		prefix.copy_from_slice(&v6.octets()[..8]);
		SourceGroup::V6Prefix(prefix)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn group(ip: &str) -> SourceGroup {
		SourceGroup::of(ip.parse().unwrap())
	}

	#[test]
	fn an_ipv4_address_or_an_ipv6_slash_64_is_one_source() {
		assert_eq!(group("10.0.0.1"), group("::ffff:10.0.0.1"));
		assert_ne!(group("10.0.0.1"), group("10.0.0.2"));
		assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff:ffff:ffff:ffff"));
		assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
		assert_eq!(
			group("2001:db8:1:2::1"),
			SourceGroup::V6Prefix([0x20, 1, 0xd, 0xb8, 0, 1, 0, 2])
		);
	}
}
