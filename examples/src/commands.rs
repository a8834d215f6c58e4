//! The test commands: `/whereami`, `/give <item> <count>`, `/inv`, over the player state the
//! sync channel hands off (so what `/give` gives travels with the player).
//!
//! They are declared to the client so a vanilla client sends them as `chat_command` without
//! complaining, and answered with system chat, which every client shows the same way.

use std::str::FromStr;

use azalea_protocol::packets::game::c_commands::{
    BrigadierNodeStub, BrigadierNumber, BrigadierParser, ClientboundCommands, NodeType,
};
use azalea_registry::builtin::ItemKind;

use crate::{player::Game, sync::state};

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

/// A command's answer, and whether it changed the inventory (so the client is shown it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub inventory_changed: bool,
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Self {
            text,
            inventory_changed: false,
        }
    }
}

/// Runs a command line (without the slash) for `player` and returns the reply for the caller.
///
/// `/give` works for a dummy too (it is this server's own action, and a dummy's inventory is
/// replaced whole by the next `ApplyState`), but not for a player frozen for a handoff: its
/// state has been sent away and must not change.
pub fn execute(line: &str, server_id: &str, player: &mut Game) -> Reply {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("whereami"), None, ..) => format!("server={server_id}").into(),
        (Some("inv"), None, ..) => state::describe(&player.state).into(),
        (Some("give"), Some(item), Some(count), None) => give(player, item, count),
        (Some("give"), ..) => Reply::from("Usage: /give <item> <count>".to_owned()),
        _ => format!("Unknown command: /{line}").into(),
    }
}

fn give(player: &mut Game, item: &str, count: &str) -> Reply {
    let Ok(kind) = ItemKind::from_str(item) else {
        return format!("Unknown item: {item}").into();
    };
    if kind == ItemKind::Air {
        return Reply::from("Cannot give air".to_owned());
    }
    let n = match count.parse::<u32>() {
        Ok(n) if (1..=MAX_GIVE).contains(&n) => n,
        _ => return format!("Count must be 1 to {MAX_GIVE}: {count}").into(),
    };
    if player.standing.frozen().is_some() {
        return Reply::from("You are being moved to another server; try again".to_owned());
    }
    let wanted = i32::try_from(n).unwrap_or(i32::MAX);
    let given = state::add_items(&mut player.state, &kind.to_string(), wanted);
    let text = if given == wanted {
        format!("Gave {n} {kind}")
    } else {
        format!("Gave {given} {kind}; the inventory is full")
    };
    Reply {
        text,
        inventory_changed: given > 0,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use azalea_buf::AzBuf;

    use super::*;

    fn player() -> Game {
        Game {
            state: state::initial([0.0; 3]),
            standing: Default::default(),
        }
    }

    fn run(line: &str, player: &mut Game) -> String {
        execute(line, "east", player).text
    }

    #[test]
    fn commands() {
        let mut p = player();
        assert_eq!(run("whereami", &mut p), "server=east");
        assert_eq!(run("inv", &mut p), "inv=");
        assert_eq!(run("give stone 5", &mut p), "Gave 5 minecraft:stone");
        assert_eq!(
            run("give minecraft:dirt 1", &mut p),
            "Gave 1 minecraft:dirt"
        );
        assert_eq!(run("give stone 2", &mut p), "Gave 2 minecraft:stone");
        assert_eq!(run("inv", &mut p), "inv=stone:7,dirt:1");
        assert_eq!(
            state::list(&p.state),
            vec![
                (0, "minecraft:stone".into(), 7),
                (1, "minecraft:dirt".into(), 1)
            ]
        );
        assert!(run("give nothing 1", &mut p).starts_with("Unknown item"));
        assert!(run("give stone 0", &mut p).starts_with("Count"));
        assert!(run("give stone -3", &mut p).starts_with("Count"));
        assert!(run("tp 0 0 0", &mut p).starts_with("Unknown command"));
        assert!(execute("give stone 1", "east", &mut p).inventory_changed);
        assert!(!execute("inv", "east", &mut p).inventory_changed);
    }

    #[test]
    fn a_full_inventory_and_a_frozen_player_are_told_so() {
        let mut p = player();
        assert_eq!(
            run("give dirt 6400", &mut p),
            "Gave 2304 minecraft:dirt; the inventory is full"
        );
        let mut p = player();
        p.standing.freeze(uuid::Uuid::nil());
        assert!(run("give dirt 1", &mut p).contains("moved to another server"));
        assert_eq!(run("inv", &mut p), "inv=");
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
