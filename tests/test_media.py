"""Photos and voice notes between counselors and families, whichever channels the two use:
Telegram file ids stay with Telegram, anything else travels as our signed /media link.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine
from telegram import Bot

from bot import media
from bot.channels.telegramsend import NOT_FORWARDED, TelegramSender
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.test_day_of_work import (  # desk and the fakes: fixtures here too
    P1,
    PUBLIC,
    SARI,
    Desk,
    Staffer,
    TelegramFamily,
    WhatsAppFamily,
    desk,
    fake_telegram,
    fake_twilio,
    intake,
    settings_for,
)
from tests.test_telegram import PHOTO, message
from tests.test_whatsapp import SID
from tests.test_whatsapp import TOKEN as TWILIO_TOKEN

JPEG = b"\xff\xd8\xff\xe0 leaflet SAPA 129 \xff\xd9"
OGG = b"OggS\x00\x02 voice note"
FAMILY_CHAT = 8_200_000_077


async def fetch(desk: Desk, url: str) -> httpx.Response:
    """GET one of our media links on the app (the public address is the app's own)."""
    assert url.startswith(f"{PUBLIC}/media/"), url
    return await desk.http.get(urlsplit(url).path)


async def claimed(desk: Desk, family: WhatsAppFamily | TelegramFamily) -> str:
    """A P1 intake, claimed by Sari; returns the case number."""
    sari = Staffer(desk, SARI)
    await sari.say("/siaga")
    number = await intake(family, P1)
    await sari.say("/ambil")
    family.unread()
    sari.unread()
    return number


async def test_a_telegram_counselors_photo_reaches_a_whatsapp_family(desk: Desk) -> None:
    """A counselor's Telegram photo reaches a WhatsApp family as our link serving its bytes."""
    family = WhatsAppFamily(desk, "whatsapp:+6281100000031")
    await claimed(desk, family)
    file_id = str(PHOTO[-1]["file_id"])
    desk.telegram.files[file_id] = JPEG
    await desk.post_telegram(message(SARI, photo=PHOTO, caption="Ini leaflet SAPA 129"))

    assert family.unread() == ["Ini leaflet SAPA 129"]
    (url,) = desk.twilio.creates()[-1].media_urls
    assert desk.telegram.calls_of("getFile") == []  # nothing fetched until Twilio asks
    got = await fetch(desk, url)
    assert got.status_code == 200
    assert got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "private, no-store"
    assert [c["file_id"] for c in desk.telegram.calls_of("getFile")] == [file_id]
    assert desk.telegram.downloads == [file_id]


async def test_a_whatsapp_familys_voice_note_reaches_a_telegram_counselor(desk: Desk) -> None:
    """A family's WhatsApp voice note reaches the counselor as sendVoice with our link."""
    family = WhatsAppFamily(desk, "whatsapp:+6281100000032")
    number = await claimed(desk, family)
    twilio_url = desk.twilio.add_media(9, OGG, "audio/ogg")
    before = len(desk.telegram.messages_to(SARI))
    await family.say("", MessageType="audio", NumMedia="1", MediaUrl0=twilio_url,
                     MediaContentType0="audio/ogg")

    (voice,) = desk.telegram.messages_to(SARI)[before:]
    assert voice.kind == "voice"
    assert voice.text == f"[{number}] (pesan suara) {twilio_url}"  # the caption: the reference
    assert desk.twilio.media_fetches() == []
    got = await fetch(desk, voice.media)
    assert got.status_code == 200
    assert got.content == OGG
    assert got.headers["content-type"] == "audio/ogg"
    (fetched,) = desk.twilio.media_fetches()
    assert fetched.auth == (SID, TWILIO_TOKEN)
    assert fetched.status == 200


async def test_telegram_to_telegram_photo_goes_by_file_id(desk: Desk) -> None:
    """A Telegram family's photo reaches a Telegram counselor by its file id, no link."""
    family = TelegramFamily(desk, FAMILY_CHAT)
    number = await claimed(desk, family)
    file_id = str(PHOTO[-1]["file_id"])
    await desk.post_telegram(message(FAMILY_CHAT, photo=PHOTO, caption="ini fotonya"))

    (photo,) = [c for c in desk.telegram.calls_of("sendPhoto") if c["chat_id"] == str(SARI)]
    assert photo["photo"] == file_id
    assert photo["caption"] == f"[{number}] ini fotonya\n[{number}] (foto) {file_id}"
    assert desk.telegram.calls_of("getFile") == []


async def test_a_forged_or_expired_link_is_refused_before_any_fetch(desk: Desk) -> None:
    """A forged, altered or expired media token is 403 and nothing is fetched."""
    settings = desk.service.settings
    photo = {"kind": "photo", "ref": PHOTO[-1]["file_id"], "mime": "image/jpeg",
             "channel": "telegram"}
    voice = {"kind": "voice", "ref": desk.twilio.add_media(3, OGG, "audio/ogg"),
             "mime": "audio/ogg", "channel": "whatsapp"}
    other_key = settings.model_copy(update={"twilio_auth_token": "someone-elses-token"})
    good = media.link(settings, photo, desk.clock())
    assert good is not None
    body, _, signature = urlsplit(good).path.removeprefix("/media/").partition(".")
    altered = media.link(settings, {**photo, "ref": "AgACAgUAAxkBAAIBZ2other"}, desk.clock())
    assert altered is not None
    links = [
        media.link(other_key, photo, desk.clock()),  # signed with another key
        media.link(other_key, voice, desk.clock()),
        f"{PUBLIC}/media/{body}.{signature[:-2]}xx",  # signature changed
        f"{PUBLIC}/media/{urlsplit(altered).path.removeprefix('/media/').split('.')[0]}"
        f".{signature}",  # another item under this signature
        f"{PUBLIC}/media/{body}",  # no signature at all
        media.link(settings, photo, desk.clock() - timedelta(days=7, seconds=1)),  # expired
        media.link(settings, voice, desk.clock() - timedelta(days=8)),
    ]
    for url in links:
        assert url is not None
        assert (await fetch(desk, url)).status_code == 403, url
    assert desk.telegram.calls_of("getFile") == []
    assert desk.twilio.media_fetches() == []
    assert (await fetch(desk, good)).status_code == 200  # the genuine link still works


def test_without_a_public_address_cross_channel_media_stay_a_text_reference(
        db: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    """Without PUBLIC_BASE_URL a WhatsApp item for Telegram says it could not be passed on."""
    settings = settings_for(db, fake_telegram, fake_twilio, PUBLIC_BASE_URL=None,
                            TELEGRAM_WEBHOOK_SECRET=None)
    sender = TelegramSender(Bot(fake_telegram.token), settings)
    url = fake_twilio.add_media(5, OGG, "audio/ogg")
    items, notes = sender._sources([
        {"kind": "voice", "ref": url, "mime": "audio/ogg", "channel": "whatsapp"},
        {"kind": "photo", "ref": "AgACfileid", "mime": "image/jpeg", "channel": "telegram"}])
    assert notes == [f"(voice) {url}{NOT_FORWARDED}"]
    assert [source for _, source in items] == ["AgACfileid"]
    assert media.link(settings, {"kind": "voice", "ref": url, "channel": "whatsapp"}) is None
