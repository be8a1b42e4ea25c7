// A Java client as vendors write it, with nothing sandbox-specific but its truststore: it fetches
// Maskinporten's discovery document and JWKS from the real URL given as its argument
// (https://test.maskinporten.no/). Run as `java -Djavax.net.ssl.trustStore=... RealHostsProbe.java URL`.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class RealHostsProbe {
    public static void main(String[] args) throws Exception {
        String issuer = args[0];
        HttpClient http = HttpClient.newHttpClient();
        for (String path : new String[] {".well-known/oauth-authorization-server", "jwk"}) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(issuer + path)).GET().build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println(path + " " + response.statusCode() + " " + response.body().replace('\n', ' '));
        }
    }
}
