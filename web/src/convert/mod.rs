//! The node's types to the wire types of `fulgur_api` and back: the one place the two meet.
//!
//! Invariant: every node type that reaches the wire goes through [`ToWire`] here, field by
//! field with nothing left out (each conversion destructures the node's type whole, so a field
//! added on either side does not compile until it is converted), and the JSON of the wire type
//! is the JSON the node's type had (the tests compare them for every type). The other way,
//! every id the wire hands in is parsed to the node's typed id in [`parse`], once, and the
//! requests carrying them are converted here.

mod closed;
mod events;
pub(crate) mod forwards;
mod merchant;
pub(crate) mod parse;
mod records;
mod routing;

pub(crate) use merchant::{node_scope, wire_scope};
pub(crate) use records::{open_channel_request, pay_request, policy_update};
pub(crate) use routing::routes_request;

/// A node value as the API sends it.
pub(crate) trait ToWire {
	/// Its wire type.
	type Wire;
	/// The value on the wire.
	fn into_wire(self) -> Self::Wire;
}

macro_rules! same_on_the_wire {
	($($t:ty),*) => {
		$(impl ToWire for $t {
			type Wire = $t;
			fn into_wire(self) -> $t {
				self
			}
		})*
	};
}

same_on_the_wire!(String, bool, u16, u32, u64, usize, f64);

impl<T: ToWire> ToWire for Option<T> {
	type Wire = Option<T::Wire>;
	fn into_wire(self) -> Self::Wire {
		self.map(ToWire::into_wire)
	}
}

impl<T: ToWire> ToWire for Vec<T> {
	type Wire = Vec<T::Wire>;
	fn into_wire(self) -> Self::Wire {
		self.into_iter().map(ToWire::into_wire).collect()
	}
}

/// `impl ToWire` for a struct whose wire twin has the same fields: each converted with
/// [`ToWire`]. The node's struct is destructured whole, so no field can be forgotten.
macro_rules! field_by_field {
	($($node:ty => $wire:ident { $($field:ident),* $(,)? })*) => {
		$(impl $crate::convert::ToWire for $node {
			type Wire = $wire;
			fn into_wire(self) -> $wire {
				let Self { $($field),* } = self;
				$wire { $($field: $crate::convert::ToWire::into_wire($field)),* }
			}
		})*
	};
}
pub(crate) use field_by_field;

#[cfg(test)]
mod tests;
