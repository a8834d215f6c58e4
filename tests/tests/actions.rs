//! Actions on blocks and entities reach the backend that owns the block or showed the entity,
//! with the entity's id mapped back to that backend's own.

use azalea_protocol::packets::game::{ServerboundPlayerAction, s_player_action::Action};
use meridian_examples::ActionRecord;
use meridian_tests::{
    client::TestClient,
    cluster::TestCluster,
    scenario::{WAIT, eventually},
    within,
};
use meridian_wire::varint::write_varint;

/// An `attack` as a 26.1 client sends it: the target as a VarInt. (azalea-protocol 0.16's
/// `ServerboundAttack` writes a fixed four-byte int instead, which no server reads correctly.)
fn attack(target: i32) -> Vec<u8> {
    let mut packet = Vec::new();
    write_varint(&mut packet, meridian_wire::ids::game::serverbound::ATTACK);
    write_varint(&mut packet, target);
    packet
}

fn shown_id(client: &TestClient, kind: &str) -> Option<i32> {
    client
        .entities()
        .values()
        .find(|e| e.kind.ends_with(kind))
        .map(|e| e.id)
}

#[tokio::test]
async fn attacks_and_digs_reach_the_owner_with_its_own_ids() {
    within!(60, async {
        let cluster = TestCluster::demo().run().await;
        let alice = TestClient::join(cluster.proxy_addr(), "Alice")
            .await
            .expect("join");
        let (west, east) = (
            cluster.backend("west").handle.clone(),
            cluster.backend("east").handle.clone(),
        );
        eventually(WAIT, "both markers are shown", || {
            shown_id(&alice, "pig").is_some() && shown_id(&alice, "cow").is_some()
        })
        .await;
        let uuid = alice.uuid();

        // Hitting east's cow from west's side reaches east, under east's id for the cow.
        let cow = shown_id(&alice, "cow").unwrap();
        alice.send_raw(&attack(cow)).await.unwrap();
        let east_cow = east.marker_entity_id().unwrap();
        eventually(WAIT, "east received the attack on its cow", || {
            east.actions().contains(&ActionRecord::Entity {
                by: uuid,
                entity_id: east_cow,
            })
        })
        .await;
        // West's pig: to west, under west's id.
        let pig = shown_id(&alice, "pig").unwrap();
        alice.send_raw(&attack(pig)).await.unwrap();
        let west_pig = west.marker_entity_id().unwrap();
        eventually(WAIT, "west received the attack on its pig", || {
            west.actions().contains(&ActionRecord::Entity {
                by: uuid,
                entity_id: west_pig,
            })
        })
        .await;

        // Digging a block in east's zone goes to east; one in west's zone to west.
        for (x, backend) in [(3, &east), (-3, &west)] {
            alice
                .send(ServerboundPlayerAction {
                    action: Action::StartDestroyBlock,
                    pos: azalea_core::position::BlockPos { x, y: 63, z: 0 },
                    direction: azalea_core::direction::Direction::Up,
                    seq: 1,
                })
                .await
                .unwrap();
            eventually(WAIT, &format!("the dig at x={x} reached its owner"), || {
                backend.actions().contains(&ActionRecord::Block {
                    by: uuid,
                    position: [x, 63, 0],
                })
            })
            .await;
        }
        // And nothing reached the backend that does not own it.
        // Both markers are entity 1 on their own backend, so compare whole records: west got
        // exactly the attack on its pig, east exactly the one on its cow.
        let entity_actions = |actions: Vec<ActionRecord>| -> Vec<ActionRecord> {
            actions
                .into_iter()
                .filter(|a| matches!(a, ActionRecord::Entity { .. }))
                .collect()
        };
        assert_eq!(
            entity_actions(west.actions()),
            vec![ActionRecord::Entity {
                by: uuid,
                entity_id: west_pig
            }]
        );
        assert_eq!(
            entity_actions(east.actions()),
            vec![ActionRecord::Entity {
                by: uuid,
                entity_id: east_cow
            }]
        );
        assert!(!west.actions().contains(&ActionRecord::Block {
            by: uuid,
            position: [3, 63, 0]
        }));
        assert!(!east.actions().contains(&ActionRecord::Block {
            by: uuid,
            position: [-3, 63, 0]
        }));
        assert_eq!(
            east.actions()
                .iter()
                .filter(|a| matches!(a, ActionRecord::Entity { .. }))
                .count(),
            1
        );
        assert_eq!(
            west.actions()
                .iter()
                .filter(|a| matches!(a, ActionRecord::Entity { .. }))
                .count(),
            1
        );
    });
}
