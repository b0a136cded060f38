package dev.refocus.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.refocus.ModelFormatException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class SharedNetworksTest
{
    @Test
    void shouldShareOneNetworkPerModelUntilTheLastUserReleasesIt() throws Exception
    {
        final RefocusModel model = ExampleData.MODEL;
        final RefocusModel copy = RefocusModel.of(Files.readAllBytes(ExampleData.DIR.resolve(
            "mlp-784-512-256-10.safetensors")));
        assertEquals(0, SharedNetworks.users(model));
        final SharedNetworks.Lease first = SharedNetworks.acquire(model);
        final SharedNetworks.Lease second = SharedNetworks.acquire(copy); // the same bytes: the same network
        assertSame(first.network(), second.network());
        assertEquals(2, SharedNetworks.users(model));
        first.close();
        first.close(); // idempotent
        assertEquals(1, SharedNetworks.users(model));
        second.close();
        assertEquals(0, SharedNetworks.users(model), "the last release drops the network");
        try (SharedNetworks.Lease again = SharedNetworks.acquire(model))
        {
            assertNotSame(first.network(), again.network(), "loaded anew after it was dropped");
        }
    }

    @Test
    void shouldRefuseBadBytesOnTheClientAndSurviveJavaSerialization() throws Exception
    {
        final ModelFormatException e = assertThrows(ModelFormatException.class,
            () -> RefocusModel.of(new byte[] {1, 2, 3}));
        assertTrue(e.getMessage().contains("safetensors bytes"), e.getMessage());
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(ExampleData.MODEL);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())))
        {
            final RefocusModel back = (RefocusModel)in.readObject();
            assertEquals(ExampleData.MODEL.digest(), back.digest());
            assertEquals(ExampleData.MODEL.size(), back.size());
        }
    }
}
