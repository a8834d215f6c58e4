//! The test commands: `/whereami`, `/give <item> <count>`, `/inv`.
//!
//! They are declared to the client so a vanilla client sends them as `chat_command` without
//! complaining, and answered with system chat, which every client shows the same way.

use std::str::FromStr;

use azalea_protocol::packets::game::c_commands::{
    BrigadierNodeStub, BrigadierNumber, BrigadierParser, ClientboundCommands, NodeType,
};
use azalea_registry::builtin::ItemKind;

/// Largest count `/give` accepts, so a count cannot overflow the inventory.
pub const MAX_GIVE: u32 = 6400;

/// The `commands` packet: root → `whereami`, `give <item> <count>`, `inv`.
pub fn declare() -> ClientboundCommands {
    let node = |node_type, children: Vec<u32>, is_executable| BrigadierNodeStub {
        is_executable,
        children,
        redirect_node: None,
        node_type,
        is_restricted: false,
    };
    let literal = |name: &str| NodeType::Literal { name: name.into() };
    let entries = vec![
        node(NodeType::Root, vec![1, 2, 5], false),
        node(literal("whereami"), vec![], true),
        node(literal("give"), vec![3], false),
        node(
            NodeType::Argument {
                name: "item".into(),
                // An identifier, so both `stone` and `minecraft:stone` parse client-side.
                parser: BrigadierParser::Identifier,
                suggestions_type: None,
            },
            vec![4],
            false,
        ),
        node(
            NodeType::Argument {
                name: "count".into(),
                parser: BrigadierParser::Integer(BrigadierNumber::new(
                    Some(1),
                    Some(MAX_GIVE as i32),
                )),
                suggestions_type: None,
            },
            vec![],
            true,
        ),
        node(literal("inv"), vec![], true),
    ];
    ClientboundCommands {
        entries,
        root_index: 0,
    }
}

/// A server-side inventory: one entry per item type, in the order first given.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inventory {
    slots: Vec<(ItemKind, u32)>,
}

impl Inventory {
    pub fn add(&mut self, item: ItemKind, count: u32) {
        match self.slots.iter_mut().find(|(i, _)| *i == item) {
            Some((_, have)) => *have = have.saturating_add(count),
            None => self.slots.push((item, count)),
        }
    }

    pub fn slots(&self) -> &[(ItemKind, u32)] {
        &self.slots
    }

    /// `inv=minecraft:stone:5,minecraft:dirt:1`, or `inv=` when empty.
    pub fn describe(&self) -> String {
        let items: Vec<String> = self
            .slots
            .iter()
            .map(|(item, count)| format!("{item}:{count}"))
            .collect();
        format!("inv={}", items.join(","))
    }
}

/// Runs a command line (without the slash) and returns the reply for the caller.
pub fn execute(line: &str, server_id: &str, inventory: &mut Inventory) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("whereami"), None, ..) => format!("server={server_id}"),
        (Some("inv"), None, ..) => inventory.describe(),
        (Some("give"), Some(item), Some(count), None) => {
            let Ok(kind) = ItemKind::from_str(item) else {
                return format!("Unknown item: {item}");
            };
            if kind == ItemKind::Air {
                return "Cannot give air".into();
            }
            match count.parse::<u32>() {
                Ok(n) if (1..=MAX_GIVE).contains(&n) => {
                    inventory.add(kind, n);
                    format!("Gave {n} {kind}")
                }
                _ => format!("Count must be 1 to {MAX_GIVE}: {count}"),
            }
        }
        (Some("give"), ..) => "Usage: /give <item> <count>".into(),
        _ => format!("Unknown command: /{line}"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use azalea_buf::AzBuf;

    use super::*;

    #[test]
    fn commands() {
        let mut inv = Inventory::default();
        assert_eq!(execute("whereami", "east", &mut inv), "server=east");
        assert_eq!(execute("inv", "east", &mut inv), "inv=");
        assert_eq!(
            execute("give stone 5", "east", &mut inv),
            "Gave 5 minecraft:stone"
        );
        assert_eq!(
            execute("give minecraft:dirt 1", "east", &mut inv),
            "Gave 1 minecraft:dirt"
        );
        assert_eq!(
            execute("give stone 2", "east", &mut inv),
            "Gave 2 minecraft:stone"
        );
        assert_eq!(
            execute("inv", "east", &mut inv),
            "inv=minecraft:stone:7,minecraft:dirt:1"
        );
        assert!(execute("give nothing 1", "east", &mut inv).starts_with("Unknown item"));
        assert!(execute("give stone 0", "east", &mut inv).starts_with("Count"));
        assert!(execute("give stone -3", "east", &mut inv).starts_with("Count"));
        assert!(execute("tp 0 0 0", "east", &mut inv).starts_with("Unknown command"));
    }

    #[test]
    fn declaration_round_trips() {
        let packet = declare();
        let mut bytes = Vec::new();
        packet.azalea_write(&mut bytes).unwrap();
        let back = ClientboundCommands::azalea_read(&mut Cursor::new(&bytes[..])).unwrap();
        assert_eq!(back, packet);
    }
}
